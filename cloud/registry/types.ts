import type { TensorInfo } from './onnx-metadata.js';

export interface ModelFile {
  /** Path inside the model, '/'-separated; for a folder model it starts with the folder's name. */
  path: string;
  sha256: string;
  size: number;
}

export interface OnnxSummary {
  /** The file that is the model graph (relative path). */
  file: string;
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producerName: string;
  producerVersion: string;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
}

export interface ModelRecord {
  name: string;
  version: number;
  framework: string;
  description: string;
  /** sha256 over the sorted (path, sha256, size) list: equal digests mean byte-identical models. */
  digest: string;
  createdAt: string;
  tags: Record<string, string>;
  properties: Record<string, string>;
  files: ModelFile[];
  size: number;
  onnx: OnnxSummary | null;
}

export interface RegisterRequest {
  name: string;
  path: string;
  framework?: string;
  description?: string;
  tags?: Record<string, string>;
  properties?: Record<string, string>;
}

export interface ModelFilter {
  name?: string;
  tags?: Record<string, string>;
}

/** `name` or `name:version` or `name:latest`, parsed. */
export interface ModelRef {
  name: string;
  version: number | 'latest';
}
