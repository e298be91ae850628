import { closeSync, openSync, readSync } from 'node:fs';

/** One line of a text input: `bytes[start, end)` without its newline. */
export interface TextLine {
  bytes: Buffer;
  start: number;
  end: number;
  /** Byte offset in the file just past this line (and its newline): where reading resumes. */
  next: number;
}

const NEWLINE = 0x0a;
export const DEFAULT_CHUNK_BYTES = 1 << 20;

/**
 * Streams the lines of a file from a byte offset, a chunk at a time (never the whole file), yielding
 * the lines of each chunk as an array. The lines of a chunk are valid until the next chunk is asked
 * for: the buffer is reused, since a fresh 1 MiB buffer per chunk costs more in page faults than the
 * read itself (measured by bench/batch). A line longer than the buffer grows it.
 *
 * Reads are synchronous on purpose: the batch runner has nothing else to do on its thread while a
 * chunk comes in (inference runs in a worker), and a page-cache read is faster than a thread-pool hop.
 */
export function* readLines(
  path: string,
  fromOffset = 0,
  chunkBytes = DEFAULT_CHUNK_BYTES,
): Generator<TextLine[]> {
  const fd = openSync(path, 'r');
  try {
    let buffer = Buffer.allocUnsafe(chunkBytes);
    let position = fromOffset;
    let carried = 0;
    for (;;) {
      if (carried === buffer.length) {
        const grown = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(grown, 0, 0, carried);
        buffer = grown;
      }
      const bytesRead = readSync(fd, buffer, carried, buffer.length - carried, position);
      const filled = carried + bytesRead;
      const base = position - carried; // file offset of buffer[0]
      position += bytesRead;
      const lines: TextLine[] = [];
      let start = 0;
      for (;;) {
        const nl = buffer.indexOf(NEWLINE, start);
        if (nl === -1 || nl >= filled) break;
        lines.push({ bytes: buffer, start, end: nl, next: base + nl + 1 });
        start = nl + 1;
      }
      if (bytesRead === 0) {
        if (start < filled) lines.push({ bytes: buffer, start, end: filled, next: base + filled });
        if (lines.length > 0) yield lines;
        return;
      }
      if (lines.length > 0) yield lines;
      // The unfinished last line moves to the front; the lines handed out above are done with.
      buffer.copy(buffer, 0, start, filled);
      carried = filled - start;
    }
  } finally {
    closeSync(fd);
  }
}

/** True for a line of only whitespace (blank lines are not records). */
export function isBlank(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = bytes[i];
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}
