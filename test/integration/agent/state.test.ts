import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileReportSink, Reporter } from '../../../agent/report/reporter.js';
import { AgentStore } from '../../../agent/state/store.js';
import { twinEvents } from '../../../agent/twin/events.js';
import { type ManifestDocument, ManifestFileSource } from '../../../agent/twin/file-source.js';
import { silentLogger } from '../../../common/logger.js';
import { tempDir } from '../../support/tmp.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir('agent-state');
});
afterEach(() => tmp.cleanup());

describe('AgentStore (SQLite, WAL, synchronous=FULL)', () => {
  it('keeps desired documents as received, with versions, and finds the last known good after a reopen', () => {
    const store = AgentStore.open(tmp.path);
    const a = store.recordDesired({ source: 'file:/m.json', body: '{"a":1}' });
    const b = store.recordDesired({ source: 'file:/m.json', body: '{"b":2}' });
    expect([a.record.version, b.record.version]).toEqual([1, 2]);
    store.setDesiredStatus(a.record.id, 'succeeded', 200, 'ok');
    store.setDesiredStatus(b.record.id, 'failed', 500, 'rolled back');
    store.close();

    const again = AgentStore.open(tmp.path);
    expect(again.latestDesired()).toMatchObject({
      version: 2,
      status: 'failed',
      statusCode: 500,
      body: '{"b":2}',
    });
    expect(again.lastKnownGood()).toMatchObject({ version: 1, status: 'succeeded', body: '{"a":1}' });
    again.close();
  });

  it('recognises a repeat of the newest document (same content; same twin version) as a duplicate', () => {
    const store = AgentStore.open(tmp.path);
    store.recordDesired({ source: 'file:/m.json', body: '{"a":1}' });
    expect(store.recordDesired({ source: 'file:/m.json', body: '{"a":1}' }).duplicate).toBe(true);
    expect(store.recordDesired({ version: 9, source: 'twin', body: '{"a":1}' }).duplicate).toBe(false);
    expect(store.recordDesired({ version: 9, source: 'twin', body: '{"a":1}' }).duplicate).toBe(true);
    expect(store.recordDesired({ version: 10, source: 'twin', body: '{"a":1}' })).toMatchObject({
      duplicate: false,
      record: { version: 10 },
    });
    store.close();
  });

  it('keeps restart stats and module history across a reopen', () => {
    const store = AgentStore.open(tmp.path);
    store.recordRestart('scorer', 1_000);
    store.recordRestart('scorer', 2_000);
    store.setStoppedByAgent('sensor', true);
    store.addHistory('scorer', 'restarted', 1, 'exited with code 1');
    store.close();
    const again = AgentStore.open(tmp.path);
    expect(again.moduleStats().get('scorer')).toEqual({
      restartCount: 2,
      lastRestartAt: 2_000,
      stoppedByAgent: false,
    });
    expect(again.moduleStats().get('sensor')).toEqual({
      restartCount: 0,
      lastRestartAt: undefined,
      stoppedByAgent: true,
    });
    expect(again.history('scorer')).toMatchObject([
      { event: 'restarted', desiredId: 1, detail: 'exited with code 1' },
    ]);
    again.clearStats('scorer');
    expect(again.moduleStats().has('scorer')).toBe(false);
    again.close();
  });

  it('is a WAL database with its schema version set', () => {
    AgentStore.open(tmp.path).close();
    const db = new Database(join(tmp.path, 'agent.db'), { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    db.close();
  });
});

describe('FileReportSink', () => {
  it('writes the whole reported document to reported.json and keeps a copy', async () => {
    const kept: string[] = [];
    const reporter = new Reporter(new FileReportSink(tmp.path, (json) => kept.push(json)), {
      reportSent: () => undefined,
      reportFailed: (e) => {
        throw e;
      },
    });
    await reporter.report({ lastDesiredVersion: 1, modules: { a: { runtimeStatus: 'running' } } });
    await reporter.report({ lastDesiredVersion: 2, modules: {} });
    const onDisk = JSON.parse(readFileSync(join(tmp.path, 'reported.json'), 'utf8'));
    expect(onDisk).toEqual({ lastDesiredVersion: 2, modules: {} });
    expect(kept).toHaveLength(2);
  });
});

describe('ManifestFileSource', () => {
  it('reads the file at start, again when it changes, and not when only touched', async () => {
    const path = join(tmp.path, 'deployment.json');
    writeFileSync(path, '{"v":1}');
    const seen: ManifestDocument[] = [];
    const source = new ManifestFileSource({
      path,
      events: twinEvents(silentLogger()),
      pollIntervalMs: 100,
      quietMs: 20,
    });
    const stop = new AbortController();
    const running = source.run(stop.signal, (doc) => seen.push(doc));
    await expect.poll(() => seen.length).toBe(1);
    writeFileSync(path, '{"v":1}');
    writeFileSync(`${path}.tmp`, '{"v":2}');
    // An editor-style replace: write a temporary file, rename it over the manifest.
    const { renameSync } = await import('node:fs');
    renameSync(`${path}.tmp`, path);
    await expect.poll(() => seen.length).toBe(2);
    stop.abort();
    await running;
    expect(seen.map((d) => d.body)).toEqual(['{"v":1}', '{"v":2}']);
    expect(seen[0]?.source).toBe(`file:${path}`);
  });
});
