/** Builders for outbox tests: real SQLite files in a temp folder, a settable clock. */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { type OutboxMessage, UPSTREAM_ENDPOINT } from '../../../agent/upstream/message.js';
import { type OpenOutboxOptions, openOutbox } from '../../../agent/upstream/open-outbox.js';
import type { Outbox } from '../../../agent/upstream/outbox.js';
import { silentLogger } from '../../../common/logger.js';
import { tempDir } from '../../support/tmp.js';

export function msg(overrides: Partial<OutboxMessage> & { body?: Buffer | string } = {}): OutboxMessage {
  const body = overrides.body ?? '{"x":1}';
  return {
    endpoint: UPSTREAM_ENDPOINT,
    messageId: randomUUID(),
    priority: 5,
    timeToLiveSecs: 7200,
    appProperties: { type: 'telemetry', module: 'm1' },
    systemProperties: { contentType: 'application/json', contentEncoding: 'utf-8' },
    source: 'm1',
    route: 'r1',
    ...overrides,
    body: typeof body === 'string' ? Buffer.from(body) : body,
  };
}

export class Clock {
  constructor(public t = Date.parse('2026-01-01T00:00:00Z')) {}
  now = () => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface OutboxFixture {
  dir: string;
  path: string;
  open(options?: Partial<OpenOutboxOptions>): Promise<Outbox>;
  cleanup(): void;
}

export function outboxFixture(): OutboxFixture {
  const tmp = tempDir('outbox');
  const path = join(tmp.path, 'outbox.db');
  const opened: Outbox[] = [];
  return {
    dir: tmp.path,
    path,
    open: async (options = {}) => {
      const outbox = await openOutbox({
        path,
        capBytes: 64 * 1024 * 1024,
        sweepIntervalMs: 0,
        log: silentLogger(),
        ...options,
      });
      opened.push(outbox);
      return outbox;
    },
    cleanup: () => {
      for (const o of opened) o.close();
      tmp.cleanup();
    },
  };
}

/** Reads every message of an endpoint in send order, the way a sender does, without sending. */
export function drainOrder(outbox: Outbox, endpoint = UPSTREAM_ENDPOINT): string[] {
  const ids: string[] = [];
  for (const p of outbox.priorities(endpoint)) {
    let after = 0;
    for (;;) {
      const rows = outbox.fetch(endpoint, p, after, 100);
      if (rows.length === 0) break;
      for (const r of rows) ids.push(r.messageId);
      after = (rows.at(-1) as { seq: number }).seq;
    }
  }
  return ids;
}
