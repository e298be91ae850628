/**
 * Sends reported properties: only the difference from the last acknowledged document (a JSON merge
 * patch, removed modules as null). Sends are serialized; a document that arrives while one is in
 * flight replaces any older pending one. A failed send leaves the baseline unchanged, so the next
 * report carries everything not yet acknowledged.
 */
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { diffPatch, type JsonObject, toJsonObject } from './merge-patch.js';

export interface ReportSink {
  /** Sends a patch; resolves once the receiver acknowledged it. */
  send(patch: JsonObject, full: JsonObject): Promise<void>;
}

export interface ReporterEvents {
  reportSent: (keys: string[], bytes: number) => void;
  reportFailed: (err: unknown) => void;
}

export class Reporter {
  private acked: JsonObject = {};
  private latest: JsonObject | undefined;
  private sending: Promise<void> | undefined;

  constructor(
    private readonly sink: ReportSink,
    private readonly events: ReporterEvents,
  ) {}

  /** What the receiver already holds (e.g. the twin's reported properties after a GET). */
  setBaseline(doc: Record<string, unknown>): void {
    const { $version: _v, $metadata: _m, ...rest } = doc;
    this.acked = toJsonObject(rest);
  }

  get acknowledged(): JsonObject {
    return this.acked;
  }

  /** Queues `doc` for sending; resolves when it (or a newer document) has been sent or has failed. */
  report(doc: object): Promise<void> {
    this.latest = toJsonObject(doc);
    if (!this.sending) {
      this.sending = this.drain().finally(() => {
        this.sending = undefined;
      });
    }
    return this.sending;
  }

  private async drain(): Promise<void> {
    while (this.latest) {
      const doc = this.latest;
      this.latest = undefined;
      const patch = diffPatch(this.acked, doc);
      if (!patch) continue;
      try {
        await this.sink.send(patch, doc);
        this.acked = doc;
        const text = JSON.stringify(patch);
        this.events.reportSent(Object.keys(patch), Buffer.byteLength(text));
      } catch (e) {
        this.events.reportFailed(e);
        return;
      }
    }
  }
}

/** Offline: the whole document in `reported.json` (written atomically) and a copy in SQLite. */
export class FileReportSink implements ReportSink {
  constructor(
    private readonly home: string,
    private readonly keep: (json: string) => void,
  ) {}

  async send(_patch: JsonObject, full: JsonObject): Promise<void> {
    const text = `${JSON.stringify(full, null, 2)}\n`;
    const target = join(this.home, 'reported.json');
    const tmp = `${target}.${process.pid}.tmp`;
    await writeFile(tmp, text);
    await rename(tmp, target);
    this.keep(text);
  }
}
