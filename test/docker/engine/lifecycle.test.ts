import { spawn } from 'node:child_process';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireEngine } from '../../support/engine/docker-host.js';
import { dockerdPaths, startDockerd } from '../../support/engine/dockerd.js';
import {
  devEngineStatus,
  ensureDevEngine,
  stopDevEngine,
  sweepOrphanRuns,
} from '../../support/engine/engine.js';
import { silentEngineEvents } from '../../support/engine/events.js';
import { isAlive } from '../../support/engine/processes.js';
import { registryAnswers } from '../../support/engine/registry.js';
import { engineSettings } from '../../support/engine/settings.js';

// Real daemons in a scratch home, so the shared dev engine is never touched.
let home: string;

beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'mp-life-'));
});

afterAll(async () => {
  await stopDevEngine({ ...engineSettings({}), home }, silentEngineEvents(), true);
  await rm(home, { recursive: true, force: true });
});

/** The pid of a process that has already exited. */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid as number;
}

describe('engine lifecycle', () => {
  it('starts the dev engine once, reuses it, and restarts it on the same registry port after a stop', async () => {
    const settings = { ...engineSettings({}), home };
    const events = silentEngineEvents();
    const first = await ensureDevEngine(settings, events);
    await requireEngine(first.dockerHost);
    await registryAnswers(first.registry);
    const pid = Number(await readFile(dockerdPaths(path.join(home, 'dev')).pidFile, 'utf8'));

    expect(await ensureDevEngine(settings, events)).toEqual(first);
    expect(Number(await readFile(dockerdPaths(path.join(home, 'dev')).pidFile, 'utf8'))).toBe(pid);
    expect(await devEngineStatus(settings)).toEqual(first);

    await stopDevEngine(settings, events);
    expect(await isAlive(pid)).toBe(false);
    expect(await devEngineStatus(settings)).toBeUndefined();

    const again = await ensureDevEngine(settings, events);
    expect(again).toEqual(first);
    await requireEngine(again.dockerHost);
  });

  it('stops and deletes an engine whose test run died before its teardown', async () => {
    const runs = path.join(home, 'runs');
    const orphan = path.join(runs, 'orphan');
    await mkdir(orphan, { recursive: true });
    await writeFile(path.join(orphan, 'owner'), `${await deadPid()}\n`);
    const dockerd = await startDockerd({ dir: orphan });
    const live = path.join(runs, 'live');
    await mkdir(live);
    await writeFile(path.join(live, 'owner'), `${process.pid}\n`);

    await sweepOrphanRuns(runs, silentEngineEvents());

    expect(await isAlive(dockerd.pid)).toBe(false);
    await expect(access(orphan)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(access(live)).resolves.toBeUndefined();
  });
});
