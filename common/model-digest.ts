import { canonicalJson, sha256Hex } from './canonical-json.js';

/** One file of a model: path inside the model ('/'-separated), sha256 (hex) and size in bytes. */
export interface DigestedFile {
  path: string;
  sha256: string;
  size: number;
}

/**
 * The model digest: `sha256:` + sha256 of the canonical JSON of the (path, sha256, size) list sorted by
 * path. The registry stores it, manifests carry it, and the scoring module recomputes it from the files
 * it serves, so all three agree on what "the same model" means.
 */
export function modelDigest(files: readonly DigestedFile[]): string {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return `sha256:${sha256Hex(canonicalJson(sorted.map((f) => ({ path: f.path, sha256: f.sha256, size: f.size }))))}`;
}
