import type { Schema } from '../swagger.js';

/** What an entry worker is started with. */
export interface EntryWorkerInit {
  /** Absolute path of the script (.js, .mjs, .cjs, .ts, .mts, .cts). */
  script: string;
  /** AZUREML_MODEL_DIR for the script, set before its init(). */
  modelDir?: string;
  /** URL of the module scripts import as `modelport/scoring`. */
  apiModule: string;
  index: number;
}

/** What the server learns from a script once its init() returned. */
export interface ScriptInfo {
  /** The script takes whole requests and returns responses (Azure ML's @rawhttp). */
  rawHttp: boolean;
  /** Schemas derived from inputSample / outputSample, when the script exports them. */
  input?: SampleSchema;
  output?: Schema;
}

export interface SampleSchema {
  /** The ServiceInput schema (an object whose properties are run()'s inputs). */
  schema: Schema;
  /** Some sample array mixes element types: Swagger 2 cannot describe it. */
  mixedTypes: boolean;
}

export interface RawRequest {
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  headers: Record<string, string | string[] | undefined>;
  body: Uint8Array;
}

export type EntryCall =
  | { kind: 'run'; id: number; mode: 'data'; body: string; contentType: string | undefined }
  | { kind: 'run'; id: number; mode: 'raw'; request: RawRequest };

export interface ScriptReply {
  status: number;
  headers: Record<string, string>;
  /** Text is sent as is; bytes are sent as bytes. */
  body: string | Uint8Array;
}

export type EntryMessage =
  | { kind: 'ready'; info: ScriptInfo }
  | { kind: 'init-failed'; message: string; stack?: string }
  | { kind: 'result'; id: number; reply: ScriptReply; runMs: number }
  | {
      kind: 'error';
      id: number;
      /** 4xx: the script (or the sample check) rejected the input; 500: the script failed. */
      status: number;
      code: string;
      message: string;
      stack?: string;
      runMs: number;
    };
