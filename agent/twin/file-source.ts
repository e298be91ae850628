/**
 * Offline mode's desired state: a deployment manifest file, read at start and again whenever it
 * changes. Editors replace files (write + rename) and some file systems miss events, so the folder is
 * watched and the file is also polled; a change is read after a short quiet period. Unchanged content
 * is recognised by the store (same hash), so touching the file does not redeploy.
 */
import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isENOENT } from '../../common/errors.js';
import type { TwinEvents } from './events.js';

const MISSING = '\u0000missing';

export interface ManifestDocument {
  body: string;
  source: string;
}

export interface FileSourceOptions {
  path: string;
  events: TwinEvents;
  pollIntervalMs?: number;
  quietMs?: number;
}

export class ManifestFileSource {
  private readonly path: string;
  private lastSeen = '';

  constructor(private readonly options: FileSourceOptions) {
    this.path = resolve(options.path);
  }

  /** Calls `onDocument` with the file's content at start and after each change, until `signal` aborts. */
  async run(signal: AbortSignal, onDocument: (doc: ManifestDocument) => void): Promise<void> {
    const quietMs = this.options.quietMs ?? 200;
    let changed = true;
    let wake: (() => void) | undefined;
    const poke = () => {
      changed = true;
      wake?.();
    };
    let watcher: FSWatcher | undefined;
    try {
      watcher = watch(dirname(this.path), (_event, name) => {
        if (name === null || name === basename(this.path)) poke();
      });
      watcher.on('error', () => watcher?.close());
    } catch (e) {
      // Watching is an optimisation; polling below still sees every change.
      this.options.events.manifestUnreadable(dirname(this.path), e);
    }
    try {
      while (!signal.aborted) {
        if (changed) {
          changed = false;
          await sleep(quietMs, undefined, { signal }).catch(() => undefined);
          if (signal.aborted) break;
          await this.readIfChanged(onDocument);
        }
        await Promise.race([
          new Promise<void>((r) => {
            wake = r;
          }),
          sleep(this.options.pollIntervalMs ?? 2_000, undefined, { signal }).then(poke, () => undefined),
        ]);
        wake = undefined;
      }
    } finally {
      watcher?.close();
    }
  }

  private async readIfChanged(onDocument: (doc: ManifestDocument) => void): Promise<void> {
    let body: string;
    try {
      // Manifests are small: comparing content is cheaper than trusting mtimes.
      body = await readFile(this.path, 'utf8');
    } catch (e) {
      if (isENOENT(e) && this.lastSeen === MISSING) return;
      this.lastSeen = isENOENT(e) ? MISSING : '';
      this.options.events.manifestUnreadable(this.path, e);
      return;
    }
    if (body === this.lastSeen) return;
    this.lastSeen = body;
    this.options.events.manifestRead(this.path, Buffer.byteLength(body));
    onDocument({ body, source: `file:${this.path}` });
  }
}
