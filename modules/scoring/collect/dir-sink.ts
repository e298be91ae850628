/**
 * Records as JSON lines in a folder (`modelport serve --collect-dir DIR`): one file per day,
 * `collect-YYYY-MM-DD.jsonl` (UTC), appended to, one record per line.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { EncodedRecord } from './encode.js';
import type { CollectSink } from './queue.js';

export function collectFileName(time: Date): string {
  return `collect-${time.toISOString().slice(0, 10)}.jsonl`;
}

export class DirSink implements CollectSink {
  private ready: Promise<unknown> | undefined;
  /** Appends run one after another, so lines never interleave and keep their order. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly dir: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  send(record: EncodedRecord): Promise<void> {
    this.ready ??= mkdir(this.dir, { recursive: true }).catch((e: unknown) => {
      this.ready = undefined; // made again on the next record
      throw e;
    });
    const write = this.chain.then(async () => {
      await this.ready;
      await appendFile(join(this.dir, collectFileName(this.now())), `${record.body}\n`);
    });
    // A failed append is the queue's to retry; the chain goes on.
    this.chain = write.catch(() => undefined);
    return write;
  }

  async close(): Promise<void> {
    await this.chain;
  }
}
