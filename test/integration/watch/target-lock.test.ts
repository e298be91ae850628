/**
 * One rollout per target at a time: two real `modelport watch --once` processes on one manifest file
 * take turns (the second waits, saying who holds the target), and the lease itself on a real SQLite
 * file (a dead holder frees it; waiting too long ends in TARGET_BUSY).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { holdTarget, TargetLocks } from '../../../cloud/watch/target-lock.js';
import { isModelportError } from '../../../common/errors.js';
import { tempDir } from '../../support/tmp.js';
import { expectOk, registerVersion, startWatch, type WatchRun } from './helpers.js';

const tmp = tempDir('target-lock');
const home = join(tmp.path, 'home');
const runs: WatchRun[] = [];

beforeAll(async () => {
  expectOk(await registerVersion(home, 'regression', 1));
});

afterAll(async () => {
  for (const run of runs) await run.stop();
  tmp.cleanup();
});

describe('two runners on one target', () => {
  it('the second waits for the first to finish its cycle, then finds the rollout done', async () => {
    const started = join(tmp.path, 'gate.started');
    const release = join(tmp.path, 'gate.release');
    const calls = join(tmp.path, 'gate.calls');
    const gate = join(tmp.path, 'gate.sh');
    writeFileSync(
      gate,
      [
        '#!/bin/sh',
        `echo "$MODELPORT_MODEL_REF" >> ${calls}`,
        `touch ${started}`,
        `while [ ! -e ${release} ]; do sleep 0.05; done`,
        'echo accepted',
        '',
      ].join('\n'),
    );
    chmodSync(gate, 0o755);
    const spec = join(tmp.path, 'fleet.yaml');
    writeFileSync(
      spec,
      [
        'name: fleet',
        'modules:',
        '  scorer:',
        '    image: registry.test/scoring:fixed',
        '    models: ["regression:latest"]',
        'rollout: {gate: gate.sh}',
        '',
      ].join('\n'),
    );
    const out = join(tmp.path, 'deployment.json');
    const args = ['--spec', spec, '--manifest-out', out, '--once'];
    const first = startWatch(args, { MODELPORT_HOME: home });
    runs.push(first);
    while (!existsSync(started)) await sleep(20);

    const second = startWatch(args, { MODELPORT_HOME: home });
    runs.push(second);
    const busy = await second.waitForEvent((e) => e['event'] === 'target-busy');
    expect(busy).toMatchObject({ pid: first.child.pid, host: hostname() });
    // The second runner did not run its own gate (or anything else) beside the first.
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toEqual(['regression:1']);

    writeFileSync(release, '');
    const a = await first.finished();
    const b = await second.finished();
    expect([a.code, b.code], JSON.stringify([a.doc, b.doc, first.events(), second.events()])).toEqual([0, 0]);
    expect(a.doc.result?.['outcome']).toBe('deployed');
    expect(b.doc.result?.['outcome']).toBe('unchanged');
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toEqual(['regression:1']);
  });
});

describe('TargetLocks', () => {
  it('takes over a lease whose holder (a process of this host) is gone', async () => {
    const dir = join(tmp.path, 'stale');
    const locks = TargetLocks.open(dir);
    try {
      const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
      const pid = Number(dead.stdout.toString());
      const db = new Database(join(dir, 'watch-locks.db'));
      db.prepare(
        'INSERT INTO target_leases (target, owner, host, pid, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
      ).run('file:/x.json', `${pid}:dead`, hostname(), pid, new Date().toISOString(), Date.now() + 3_600_000);
      db.close();
      expect(locks.tryAcquire('file:/x.json')).toEqual({ acquired: true });
    } finally {
      locks.close();
    }
  });

  it('a second holder waits, tells who holds the target, and gives up with TARGET_BUSY (exit 4)', async () => {
    const dir = join(tmp.path, 'busy');
    const mine = TargetLocks.open(dir);
    const theirs = TargetLocks.open(dir);
    try {
      const release = await holdTarget(mine, 'hub:h/fleet');
      const told: number[] = [];
      let error: unknown;
      try {
        await holdTarget(theirs, 'hub:h/fleet', { waitMs: 300, pollMs: 50, onBusy: (h) => told.push(h.pid) });
      } catch (e) {
        error = e;
      }
      expect(isModelportError(error) && [error.code, error.exitCode]).toEqual(['TARGET_BUSY', 4]);
      expect(told).toEqual([process.pid]);
      // Another target is free meanwhile; once released, the waiting side gets this one.
      (await holdTarget(theirs, 'hub:h/other'))();
      release();
      (await holdTarget(theirs, 'hub:h/fleet', { waitMs: 0 }))();
    } finally {
      mine.close();
      theirs.close();
    }
  });
});
