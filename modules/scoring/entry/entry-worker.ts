/**
 * One entry-script worker: imports the script, calls its init() once, then runs requests one at a
 * time. Scripts may do CPU work or call onnxruntime themselves without blocking the HTTP thread.
 */
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import type { EntryCall, EntryMessage, EntryWorkerInit, ScriptInfo } from './protocol.js';
import { convertToSample, inputSchemaOf, type SampleSpec, schemaOf, specOf } from './sample-schema.js';
import { dataReply, rawReply } from './script-reply.js';

process.env.ORT_DISABLE_TELEMETRY ??= '1';
const init = workerData as EntryWorkerInit;
const port = parentPort;
if (!port) throw new Error('entry-worker must run in a worker thread');
const post = (m: EntryMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

interface Script {
  init?: (context: unknown) => unknown;
  run: (input: unknown) => unknown;
  rawHttp?: boolean;
  inputSample?: unknown;
  outputSample?: unknown;
}

// `import … from 'modelport/scoring'` resolves to the server's own script API, wherever the script is.
const hooks = `export async function resolve(specifier, context, next) {
  if (specifier === 'modelport/scoring') return next(${JSON.stringify(init.apiModule)}, context);
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
// From TypeScript sources the bootstrap registered tsx already; compiled, a .ts script needs it here.
if (/\.[cm]?ts$/.test(init.script) && !init.apiModule.endsWith('.ts')) {
  const tsx = await import('tsx/esm/api');
  tsx.register();
}
if (init.modelDir !== undefined) process.env.AZUREML_MODEL_DIR = init.modelDir;

async function load(): Promise<{ script: Script; info: ScriptInfo; inputSpec: SampleSpec | undefined }> {
  const mod = (await import(pathToFileURL(init.script).href)) as Record<string, unknown>;
  // CommonJS and default-export scripts put their functions on `default`.
  const script = (typeof mod.run === 'function' ? mod : (mod.default ?? {})) as Script;
  if (typeof script.run !== 'function') throw new Error(`${init.script} does not export a run() function`);
  const api = (await import('modelport/scoring' as string)) as {
    getModelPath: (n: string, v?: string | number) => string;
  };
  await script.init?.({ modelDir: init.modelDir, getModelPath: api.getModelPath, workerIndex: init.index });
  const rawHttp = script.rawHttp === true || (script.run as { rawHttp?: boolean }).rawHttp === true;
  const input = script.inputSample === undefined ? undefined : inputSchemaOf(script.inputSample);
  const info: ScriptInfo = { rawHttp };
  if (input) info.input = { schema: input.schema, mixedTypes: input.mixedTypes };
  if (script.outputSample !== undefined)
    info.output = schemaOf(specOf(script.outputSample), script.outputSample);
  return { script, info, inputSpec: input?.spec };
}

async function handle(script: Script, inputSpec: SampleSpec | undefined, call: EntryCall): Promise<void> {
  let started = performance.now();
  try {
    let input: unknown;
    if (call.mode === 'raw') {
      const r = call.request;
      input = { ...r, body: Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength) };
    } else if (inputSpec) input = fromSample(call.body, call.contentType, inputSpec);
    else input = call.body;
    started = performance.now();
    const value = await script.run(input);
    const runMs = performance.now() - started;
    const reply = call.mode === 'raw' ? rawReply(value) : dataReply(value);
    const transfer = typeof reply.body === 'string' ? [] : [reply.body.buffer as ArrayBuffer];
    post({ kind: 'result', id: call.id, reply, runMs }, transfer);
  } catch (e) {
    const err = e as {
      status?: unknown;
      statusCode?: unknown;
      code?: unknown;
      message?: unknown;
      stack?: unknown;
    };
    const status = Number(err?.status ?? err?.statusCode);
    const client = Number.isInteger(status) && status >= 400 && status < 500;
    post({
      kind: 'error',
      id: call.id,
      status: client ? status : 500,
      code: client && typeof err.code === 'string' ? err.code : client ? 'INPUT_INVALID' : 'SCRIPT_FAILED',
      message: typeof err?.message === 'string' ? err.message : String(e),
      ...(typeof err?.stack === 'string' ? { stack: err.stack } : {}),
      runMs: performance.now() - started,
    });
  }
}

/** With an input sample, the body must be JSON matching it (Azure ML answers 415 otherwise). */
function fromSample(body: string, contentType: string | undefined, spec: SampleSpec): unknown {
  if (!contentType || !/^application\/([a-z.+-]*\+)?json\b/i.test(contentType)) {
    throw Object.assign(new Error('this script takes JSON: send Content-Type: application/json'), {
      status: 415,
      code: 'MEDIA_TYPE_UNSUPPORTED',
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw Object.assign(new Error('the request body is not valid JSON'), {
      status: 400,
      code: 'JSON_INVALID',
    });
  }
  if (spec.kind === 'record') return convertToSample(parsed, spec, '$');
  if (parsed === null || typeof parsed !== 'object' || !('data' in parsed)) {
    throw Object.assign(new Error('the body must be {"data": …} as the script\'s sample shows'), {
      status: 400,
      code: 'DATA_MISSING',
    });
  }
  return convertToSample((parsed as { data: unknown }).data, spec, 'data');
}

try {
  const { script, info, inputSpec } = await load();
  port.on('message', (call: EntryCall) => void handle(script, inputSpec, call));
  post({ kind: 'ready', info });
} catch (e) {
  const err = e as Error;
  post({
    kind: 'init-failed',
    message: err?.message ?? String(e),
    ...(err?.stack ? { stack: err.stack } : {}),
  });
}
