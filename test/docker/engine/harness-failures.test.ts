import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePackages } from '../../support/engine/apt.js';
import { startDockerd } from '../../support/engine/dockerd.js';
import { acquireEngine, startPrivateEngine } from '../../support/engine/engine.js';
import { silentEngineEvents } from '../../support/engine/events.js';
import { startRegistry } from '../../support/engine/registry.js';
import { enginePaths, engineSettings } from '../../support/engine/settings.js';

// These start nothing lasting: each failure path must name its reason, never skip or hang.
let scratch: string;

beforeAll(async () => {
  // Short path: dockerd's sockets live under it.
  scratch = await mkdtemp(path.join(os.tmpdir(), 'mp-fail-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('engine harness failures are loud', () => {
  it('names a dockerd binary that does not exist', async () => {
    const missing = path.join(scratch, 'no-such-dockerd');
    await expect(startDockerd({ dir: path.join(scratch, 'a'), dockerdPath: missing })).rejects.toMatchObject({
      code: 'ENGINE_BINARY_MISSING',
      message: expect.stringContaining(missing),
    });
  });

  it('reports a dockerd that exits at start with the tail of its log', async () => {
    const dir = path.join(scratch, 'b');
    const error = await startDockerd({ dir, extraArgs: ['--no-such-flag'] }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'ENGINE_START_FAILED',
      hint: `full log: ${path.join(dir, 'dockerd.log')}`,
    });
    expect((error as Error).message).toContain('dockerd exited');
    expect((error as Error).message).toContain('unknown flag: --no-such-flag');
  });

  it('names the registry binary that does not exist', async () => {
    const missing = path.join(scratch, 'no-such-registry');
    await expect(
      startRegistry({ dir: path.join(scratch, 'c'), registryPath: missing }),
    ).rejects.toMatchObject({
      code: 'ENGINE_BINARY_MISSING',
      message: expect.stringContaining(missing),
    });
  });

  it('refuses a DOCKER_HOST that does not answer instead of starting another engine', async () => {
    const dockerHost = `unix://${path.join(scratch, 'nothing.sock')}`;
    const settings = { ...engineSettings({}), home: scratch, dockerHost };
    await expect(acquireEngine(settings, silentEngineEvents())).rejects.toMatchObject({
      code: 'ENGINE_UNREACHABLE',
      message: expect.stringContaining(`DOCKER_HOST=${dockerHost} does not answer`),
    });
  });

  it('refuses a MODELPORT_TEST_REGISTRY that does not answer', async () => {
    const settings = {
      ...engineSettings({}),
      home: scratch,
      dockerHost: process.env.DOCKER_HOST,
      registry: '127.0.0.1:1',
    };
    await expect(acquireEngine(settings, silentEngineEvents())).rejects.toMatchObject({
      code: 'REGISTRY_UNREACHABLE',
      message: expect.stringContaining('MODELPORT_TEST_REGISTRY=127.0.0.1:1'),
    });
  });

  it('says which package is missing when installing is not allowed', async () => {
    const need = { pkg: 'modelport-no-such-package', executable: 'modelport-no-such-binary' };
    await expect(ensurePackages([need], { allowInstall: false })).rejects.toMatchObject({
      code: 'ENGINE_PACKAGE_MISSING',
      message: expect.stringContaining('modelport-no-such-binary (Debian package modelport-no-such-package)'),
      hint: expect.stringContaining('scripts/engine/install-deps.sh'),
    });
  });

  it('cleans up its run folder when the private engine fails to start', async () => {
    const settings = { ...engineSettings({}), home: scratch };
    await expect(
      startPrivateEngine(settings, silentEngineEvents(), {
        dockerdPath: path.join(scratch, 'no-such-dockerd'),
      }),
    ).rejects.toMatchObject({ code: 'ENGINE_BINARY_MISSING' });
    const runs = enginePaths(scratch).runs;
    const owners = await Promise.all(
      (await readdir(runs)).map((name) => readFile(path.join(runs, name, 'owner'), 'utf8')),
    );
    expect(owners).not.toContain(`${process.pid}\n`);
  });
});
