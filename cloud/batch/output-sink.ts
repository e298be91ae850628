import { closeSync, fdatasyncSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { isENOENT } from '../../common/errors.js';

/**
 * The output and rejects files of a run, appended at known byte lengths. On resume both are first cut
 * back to the checkpoint's lengths, dropping whatever was written after the last checkpoint. The
 * rejects file is created on the first reject (a clean run leaves none).
 *
 * Writes are synchronous: they land in the page cache in microseconds, and the batch runner's thread
 * has nothing else to do meanwhile (inference runs in a worker); a thread-pool hop per batch cost more.
 */
export class OutputSink {
  private rejectsFd: number | undefined;

  private constructor(
    private readonly outputFd: number,
    private readonly rejectsPath: string,
    private outputLength: number,
    private rejectsLength: number,
  ) {}

  /** Opens for a fresh run (`from` undefined: both files start empty) or a resumed one. */
  static open(
    outputPath: string,
    rejectsPath: string,
    from: { outputBytes: number; rejectsBytes: number } | undefined,
  ): OutputSink {
    const outputFd = openAt(outputPath, from?.outputBytes ?? 0);
    let rejectsFd: number | undefined;
    try {
      if (from && from.rejectsBytes > 0) rejectsFd = openAt(rejectsPath, from.rejectsBytes);
      else truncateIfPresent(rejectsPath);
    } catch (e) {
      closeSync(outputFd);
      throw e;
    }
    const sink = new OutputSink(outputFd, rejectsPath, from?.outputBytes ?? 0, from?.rejectsBytes ?? 0);
    sink.rejectsFd = rejectsFd;
    return sink;
  }

  get outputBytes(): number {
    return this.outputLength;
  }

  get rejectsBytes(): number {
    return this.rejectsLength;
  }

  append(outputText: string, rejectsText: string): void {
    if (outputText.length > 0) this.outputLength += writeAll(this.outputFd, outputText, this.outputLength);
    if (rejectsText.length > 0) {
      this.rejectsFd ??= openAt(this.rejectsPath, this.rejectsLength);
      this.rejectsLength += writeAll(this.rejectsFd, rejectsText, this.rejectsLength);
    }
  }

  /** Flushes both files to disk: a checkpoint may only count bytes that are durable. */
  sync(): void {
    fdatasyncSync(this.outputFd);
    if (this.rejectsFd !== undefined) fdatasyncSync(this.rejectsFd);
  }

  close(): void {
    closeSync(this.outputFd);
    if (this.rejectsFd !== undefined) closeSync(this.rejectsFd);
    this.rejectsFd = undefined;
  }
}

/** Opens (creating if needed) and cuts the file to `length` bytes. */
function openAt(path: string, length: number): number {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch (e) {
    if (!isENOENT(e)) throw e;
    fd = openSync(path, 'w+');
  }
  try {
    ftruncateSync(fd, length);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return fd;
}

/** A stale rejects file from an earlier attempt must not survive into a run that has none yet. */
function truncateIfPresent(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch (e) {
    if (isENOENT(e)) return;
    throw e;
  }
  try {
    ftruncateSync(fd, 0);
  } finally {
    closeSync(fd);
  }
}

/** Writes all of `text` at `position`; returns its length in bytes. */
function writeAll(fd: number, text: string, position: number): number {
  const bytes = Buffer.from(text, 'utf8');
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
  return bytes.length;
}
