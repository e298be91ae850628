import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  filterLines,
  handleMethod,
  MAX_LOGS_PAYLOAD_BYTES,
  type MethodDeps,
} from '../../../agent/methods/methods.js';
import { parseGetModuleLogs, parseLogTime } from '../../../agent/methods/requests.js';
import type { LogLine, LogQuery } from '../../../agent/runtime/docker-adapter.js';
import { NOW } from '../../helpers/state.js';

const line = (text: string, stream: 'stdout' | 'stderr' = 'stdout'): LogLine => ({
  stream,
  time: '2030-01-01T00:00:00Z',
  text,
});

/** Method dependencies backed by in-memory modules and logs (the handlers' own inputs). */
function deps(
  logs: Record<string, LogLine[]> = {},
): MethodDeps & { restarted: string[]; queries: LogQuery[] } {
  const restarted: string[] = [];
  const queries: LogQuery[] = [];
  return {
    restarted,
    queries,
    moduleNames: () => Object.keys(logs),
    now: () => NOW,
    restartModule: async (name) => {
      restarted.push(name);
    },
    moduleLogs: async (name, query) => {
      queries.push(query);
      const all = logs[name];
      return all && (query.tail !== undefined ? all.slice(-query.tail) : all);
    },
  };
}

describe('ping', () => {
  it('answers 200 with a null payload', async () => {
    expect(await handleMethod('ping', null, deps())).toEqual({ status: 200, payload: null });
  });
});

describe('RestartModule', () => {
  it('restarts a module of the deployment: 200, null', async () => {
    const d = deps({ scorer: [] });
    expect(await handleMethod('RestartModule', { schemaVersion: '1.0', id: 'scorer' }, d)).toEqual({
      status: 200,
      payload: null,
    });
    expect(d.restarted).toEqual(['scorer']);
  });

  it.each([
    [{ schemaVersion: '1.0', id: 'nope' }, 404, "module 'nope' is not in the current deployment"],
    [{ schemaVersion: '1.0' }, 400, 'RestartModule needs "id", the name of the module to restart'],
    [{ schemaVersion: '2.0', id: 'scorer' }, 400, 'schemaVersion "2.0" is not supported (use "1.0")'],
    ['scorer', 400, 'RestartModule expects {"schemaVersion": "1.0", "id": "<module name>"}'],
    [
      { schemaVersion: '1.0', id: 'edgeHub' },
      400,
      "'edgeHub' is played by modelport-agent itself; restart the agent instead",
    ],
  ])('%j → %i with a message', async (payload, status, message) => {
    const d = deps({ scorer: [] });
    expect(await handleMethod('RestartModule', payload, d)).toEqual({ status, payload: { message } });
    expect(d.restarted).toEqual([]);
  });

  it('turns an unexpected failure into 500 with its message', async () => {
    const d = {
      ...deps({ scorer: [] }),
      restartModule: async () => Promise.reject(new Error('engine gone')),
    };
    expect(await handleMethod('RestartModule', { schemaVersion: '1.0', id: 'scorer' }, d)).toEqual({
      status: 500,
      payload: { message: 'engine gone' },
    });
  });
});

describe('GetModuleLogs', () => {
  const logs = {
    scorer: [line('<6> starting'), line('<3> model failed to load', 'stderr'), line('<6> listening')],
    sensor: [line('reading 1'), line('reading 2')],
  };

  it("answers edgeAgent's shape: [{id, payload}] with the lines as text", async () => {
    const reply = await handleMethod(
      'GetModuleLogs',
      {
        schemaVersion: '1.0',
        items: [{ id: 'scorer', filter: { tail: 2 } }],
        encoding: 'none',
        contentType: 'text',
      },
      deps(logs),
    );
    expect(reply).toEqual({
      status: 200,
      payload: [{ id: 'scorer', payload: '<3> model failed to load\n<6> listening' }],
    });
  });

  it('matches module ids as regular expressions and applies loglevel and regex filters', async () => {
    const reply = await handleMethod(
      'GetModuleLogs',
      {
        schemaVersion: '1.0',
        items: [
          { id: '.*', filter: { loglevel: 3 } },
          { id: 'sens', filter: { regex: '2$' } },
        ],
      },
      deps(logs),
    );
    expect(reply.payload).toEqual([
      { id: 'scorer', payload: '<3> model failed to load' },
      { id: 'sensor', payload: '' },
    ]);
  });

  it('gzips into payloadBytes and renders json lines when asked', async () => {
    const reply = await handleMethod(
      'GetModuleLogs',
      { schemaVersion: '1.0', items: [{ id: 'sensor' }], encoding: 'gzip', contentType: 'json' },
      deps(logs),
    );
    const [entry] = reply.payload as { id: string; payloadBytes: string }[];
    expect(entry?.id).toBe('sensor');
    expect(JSON.parse(gunzipSync(Buffer.from(entry?.payloadBytes ?? '', 'base64')).toString())).toEqual([
      {
        moduleId: 'sensor',
        stream: 'stdout',
        logLevel: 6,
        timeStamp: '2030-01-01T00:00:00Z',
        text: 'reading 1',
      },
      {
        moduleId: 'sensor',
        stream: 'stdout',
        logLevel: 6,
        timeStamp: '2030-01-01T00:00:00Z',
        text: 'reading 2',
      },
    ]);
  });

  it('passes since and until to Docker as unix seconds', async () => {
    const d = deps(logs);
    await handleMethod(
      'GetModuleLogs',
      { items: [{ id: 'sensor', filter: { since: '1h', until: 1_900_000_000 } }] },
      d,
    );
    expect(d.queries).toEqual([{ timestamps: true, since: NOW / 1000 - 3600, until: 1_900_000_000 }]);
  });

  it('keeps the response under the direct method size limit, dropping the oldest lines', async () => {
    const big = Array.from({ length: 5_000 }, (_, i) => line(`line ${i} ${'x'.repeat(60)}`));
    const reply = await handleMethod('GetModuleLogs', { items: [{ id: 'big' }] }, deps({ big }));
    const text = JSON.stringify(reply.payload);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MAX_LOGS_PAYLOAD_BYTES);
    const payload = (reply.payload as { payload: string }[])[0]?.payload ?? '';
    expect(payload.endsWith(`line 4999 ${'x'.repeat(60)}`)).toBe(true);
    expect(payload.startsWith('line 0 ')).toBe(false);
  });

  it.each([
    [{}, 'GetModuleLogs needs a non-empty "items" array'],
    [{ items: [{ id: '(' }] }, /items\[0\]\.id is not a valid regular expression/],
    [{ items: [{ id: 'a', filter: { tail: -1 } }] }, 'filter.tail must be a whole number'],
    [{ items: [{ id: 'a', filter: { loglevel: 9 } }] }, 'filter.loglevel must be a syslog severity, 0 to 7'],
    [{ items: [{ id: 'a' }], encoding: 'zip' }, 'encoding must be "none" or "gzip"'],
    [
      { items: [{ id: 'a', filter: { since: 'yesterday-ish' } }] },
      "filter.since: 'yesterday-ish' is neither a time nor a duration",
    ],
  ])('rejects %j with 400', async (payload, message) => {
    const reply = await handleMethod('GetModuleLogs', payload, deps(logs));
    expect(reply.status).toBe(400);
    expect((reply.payload as { message: string }).message).toMatch(message);
  });

  it('parses IoT Edge time forms', () => {
    expect(parseLogTime(1_700_000_000, NOW, 'since')).toBe(1_700_000_000);
    expect(parseLogTime('1700000000', NOW, 'since')).toBe(1_700_000_000);
    expect(parseLogTime('90m', NOW, 'since')).toBe(NOW / 1000 - 5400);
    expect(parseLogTime('2 days 3 hours 2 minutes', NOW, 'since')).toBe(
      NOW / 1000 - (2 * 86400 + 3 * 3600 + 120),
    );
    expect(parseLogTime('2029-12-31T23:00:00Z', NOW, 'since')).toBe(NOW / 1000 - 3600);
    expect(parseGetModuleLogs({ items: [{ id: 'a' }] }, NOW)).toMatchObject({
      encoding: 'none',
      contentType: 'text',
    });
  });

  it('applies tail after the regex filter', () => {
    const lines = [line('a 1'), line('b 1'), line('a 2'), line('b 2')];
    expect(filterLines(lines, { regex: /^a/, tail: 1 }).map((l) => l.text)).toEqual(['a 2']);
  });
});

describe('unknown methods', () => {
  it('answer 501', async () => {
    expect(await handleMethod('UploadSupportBundle', {}, deps())).toEqual({
      status: 501,
      payload: { message: "method 'UploadSupportBundle' is not implemented by modelport-agent" },
    });
  });
});
