/**
 * createOptions chunking, exactly as IoT Edge does it.
 *
 * A twin property value used to be limited to 512 bytes, so IoT Edge stores the Docker create options
 * (one JSON text) in 512-character pieces: `createOptions`, then `createOptions01`, `createOptions02`, ….
 * What the sources say (read in Azure/iotedge and Azure/vscode-azure-iot-edge):
 * - vscode-azure-iot-edge `Utility.serializeCreateOptions`: JSON.stringify the object (a string is kept as
 *   written), cut it into pieces of `TwinValueMaxSize = 512` characters, at most `TwinValueMaxChunks = 8`
 *   pieces ("The maximum size of createOptions is 4K"), name piece i>0 `createOptions` + two digits.
 * - edge-agent `DockerConfig` (Microsoft.Azure.Devices.Edge.Agent.Docker): writes `createOptions{i:D2}`
 *   with `TwinValueMaxSize = 512`; reads through `JsonEx.ChunkedValue("createOptions", ignoreCase: true)`,
 *   which orders the matching keys, requires the first to have no number and each next number to be
 *   1, 2, 3 … (an error names the expected key), and takes at most `TwinValueMaxChunks = 100` pieces.
 *   An empty or whitespace-only text means no create options.
 * So we write at most 8 chunks (the tools' limit) and read up to 100 (the agent's limit).
 */
import { formatPath, IssueList, type PathSegment, throwIfIssues } from './errors.js';
import type { CreateOptions } from './types.js';

export const CREATE_OPTIONS_CHUNK_SIZE = 512;
/** Chunks a manifest writer may produce (vscode-azure-iot-edge, iotedgedev): 8 × 512 = 4096 characters. */
export const CREATE_OPTIONS_MAX_CHUNKS = 8;
/** Chunks edgeAgent reads at most (two-digit sequence numbers, 00–99). */
export const CREATE_OPTIONS_MAX_READ_CHUNKS = 100;

// The official schema's pattern for chunk keys; edgeAgent matches case-insensitively, the schema admits these two spellings.
const CHUNK_KEY = /^(?:createoptions|createOptions)([0-9]*)$/;

/** Name of chunk `index`: 0 → `createOptions`, 1 → `createOptions01`, 12 → `createOptions12`. */
export function createOptionsKey(index: number): string {
  return index === 0 ? 'createOptions' : `createOptions${String(index).padStart(2, '0')}`;
}

/** True for `createOptions`, `createOptions01`, … (and the all-lower-case spelling the schema also admits). */
export function isCreateOptionsKey(key: string): boolean {
  return CHUNK_KEY.test(key);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Serializes create options (an object, or a JSON text kept as written) and cuts the text into
 * 512-character chunks keyed `createOptions`, `createOptions01`, …. A chunk never ends between the two
 * halves of a surrogate pair (such a chunk is one character shorter), so every chunk is valid UTF-8 on
 * the wire. Throws ManifestError when the text is not a JSON object or needs more than 8 chunks.
 */
export function chunkCreateOptions(
  options: CreateOptions | string,
  path: readonly PathSegment[] = ['createOptions'],
): Record<string, string> {
  const issues = new IssueList();
  let text: string;
  if (typeof options === 'string') {
    text = options;
    parseCreateOptionsText(text, path, issues);
  } else if (isPlainObject(options)) {
    text = JSON.stringify(options);
  } else {
    issues.add(path, 'create-options-json', 'createOptions must be a JSON object');
    text = '';
  }
  throwIfIssues(issues.items);

  const chunks = splitText(text, CREATE_OPTIONS_CHUNK_SIZE);
  if (chunks.length > CREATE_OPTIONS_MAX_CHUNKS) {
    throwIfIssues([
      {
        path: formatPath(path),
        rule: 'create-options-size',
        message:
          `createOptions serialize to ${text.length} characters (${chunks.length} chunks); IoT Edge tools ` +
          `allow at most ${CREATE_OPTIONS_MAX_CHUNKS} chunks of ${CREATE_OPTIONS_CHUNK_SIZE} ` +
          `(${CREATE_OPTIONS_MAX_CHUNKS * CREATE_OPTIONS_CHUNK_SIZE} characters)`,
      },
    ]);
  }
  const out: Record<string, string> = {};
  chunks.forEach((chunk, i) => {
    out[createOptionsKey(i)] = chunk;
  });
  return out;
}

function splitText(text: string, size: number): string[] {
  if (text.length === 0) return [''];
  const out: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(start + size, text.length);
    // Keep a surrogate pair together: end the chunk before a high surrogate whose low half would be cut off.
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
    out.push(text.slice(start, end));
    start = end;
  }
  return out;
}

/**
 * Joins `createOptions`, `createOptions01`, … of a module's `settings` back into one object, as edgeAgent
 * does. `{}` when there are none. Throws ManifestError on gaps, non-string chunks, or text that is not a
 * JSON object; `path` is the path of `settings`, for the messages.
 */
export function joinCreateOptions(
  settings: Record<string, unknown>,
  path: readonly PathSegment[] = [],
): CreateOptions {
  const issues = new IssueList();
  const joined = joinCreateOptionsInto(settings, path, issues);
  throwIfIssues(issues.items);
  return joined ?? {};
}

/** joinCreateOptions that records problems in `issues` and returns undefined instead of throwing. */
export function joinCreateOptionsInto(
  settings: Record<string, unknown>,
  path: readonly PathSegment[],
  issues: IssueList,
): CreateOptions | undefined {
  const found: { key: string; index: number; value: unknown }[] = [];
  for (const [key, value] of Object.entries(settings)) {
    const m = CHUNK_KEY.exec(key);
    if (!m) continue;
    const digits = m[1] ?? '';
    found.push({ key, index: digits === '' ? 0 : Number.parseInt(digits, 10), value });
  }
  if (found.length === 0) return {};
  found.sort((a, b) => a.index - b.index || (a.key < b.key ? -1 : 1));

  const before = issues.items.length;
  // Templates (deployment.template.json) and edgeAgent itself accept the options as an object.
  const only = found[0];
  if (found.length === 1 && only && only.index === 0 && isPlainObject(only.value)) return { ...only.value };

  for (const [position, chunk] of found.entries()) {
    if (chunk.index !== position) {
      const expected = createOptionsKey(position);
      const message =
        chunk.index < position
          ? `duplicate createOptions chunk: ${chunk.key} has the same sequence number as ${found[position - 1]?.key}`
          : `createOptions chunks have a gap: expected ${expected} before ${chunk.key}`;
      issues.add([...path, chunk.index < position ? chunk.key : expected], 'create-options-chunks', message);
      return undefined;
    }
    if (typeof chunk.value !== 'string') {
      issues.add([...path, chunk.key], 'type', 'createOptions chunks must be strings');
    }
  }
  if (found.length > CREATE_OPTIONS_MAX_READ_CHUNKS) {
    issues.add(
      [...path, createOptionsKey(CREATE_OPTIONS_MAX_READ_CHUNKS)],
      'create-options-chunks',
      `at most ${CREATE_OPTIONS_MAX_READ_CHUNKS} createOptions chunks are read by IoT Edge; found ${found.length}`,
    );
  }
  if (issues.items.length > before) return undefined;
  const text = found.map((c) => c.value as string).join('');
  return parseCreateOptionsText(text, [...path, 'createOptions'], issues);
}

/** Parses a createOptions text; empty or whitespace-only means `{}` (as in edgeAgent). */
function parseCreateOptionsText(
  text: string,
  path: readonly PathSegment[],
  issues: IssueList,
): CreateOptions | undefined {
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    issues.add(path, 'create-options-json', `createOptions is not valid JSON: ${(e as Error).message}`);
    return undefined;
  }
  if (!isPlainObject(parsed)) {
    const kind = Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : `a ${typeof parsed}`;
    issues.add(path, 'create-options-json', `createOptions must be a JSON object, not ${kind}`);
    return undefined;
  }
  return parsed;
}
