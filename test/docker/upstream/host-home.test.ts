/**
 * The agent in a container finds where its home is on the Docker host (module binds of the hub's CA
 * are resolved by the engine, on the host): the compiled agent code runs in a container of the test
 * engine with the engine socket and a home bind-mounted, as agent/Dockerfile runs it.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { engineInfo, removeByLabel, runOnce } from '../../support/engine/helpers.js';
import { tempDir } from '../../support/tmp.js';
import { ROOT } from '../agent/support.js';

const SUITE = 'modelport.test.suite=upstream-host-home';
const tmp = tempDir('host-home');

afterAll(async () => {
  await removeByLabel(SUITE);
  tmp.cleanup();
});

const SCRIPT = `
const { default: Docker } = await import('/app/node_modules/dockerode/lib/docker.js');
const { detectHostHome } = await import('/app/dist/agent/hub/host-home.js');
const docker = new Docker({ socketPath: '/var/run/docker.sock' });
const found = await detectHostHome(docker, process.argv[1]);
process.stdout.write(JSON.stringify(found));
`;

describe('host home of the agent in a container (Docker)', () => {
  it.each([
    ['/var/lib/modelport-agent', ''],
    ['/var/lib/modelport-agent/hub', 'hub'],
  ])('%s inside is the bind source on the host', async (inside, sub) => {
    const info = engineInfo();
    const socket = info.dockerHost.replace(/^unix:\/\//, '');
    const home = join(tmp.path, 'home');
    mkdirSync(home, { recursive: true });
    const [key, value] = SUITE.split('=') as [string, string];
    const out = await runOnce({
      image: info.baseImage,
      entrypoint: ['node', '--input-type=module', '-e', SCRIPT],
      cmd: [inside],
      binds: [
        `${socket}:/var/run/docker.sock`,
        `${join(ROOT, 'dist')}:/app/dist:ro`,
        `${join(ROOT, 'package.json')}:/app/package.json:ro`,
        `${join(ROOT, 'node_modules')}:/app/node_modules:ro`,
        `${home}:/var/lib/modelport-agent`,
      ],
      labels: { [key]: value },
      user: '0',
    });
    expect(out.exitCode, out.stderr).toBe(0);
    const found = JSON.parse(out.stdout) as { containerId?: string; hostHome?: string };
    expect(found.containerId).toMatch(/^[0-9a-f]{64}$/);
    expect(found.hostHome).toBe(sub ? join(home, sub) : home);
  });

  it('a home on no mount is reported as such (the agent warns: binds would name a path the host lacks)', async () => {
    const info = engineInfo();
    const socket = info.dockerHost.replace(/^unix:\/\//, '');
    const [key, value] = SUITE.split('=') as [string, string];
    const out = await runOnce({
      image: info.baseImage,
      entrypoint: ['node', '--input-type=module', '-e', SCRIPT],
      cmd: ['/opt/agent-home'],
      binds: [
        `${socket}:/var/run/docker.sock`,
        `${join(ROOT, 'dist')}:/app/dist:ro`,
        `${join(ROOT, 'package.json')}:/app/package.json:ro`,
        `${join(ROOT, 'node_modules')}:/app/node_modules:ro`,
      ],
      labels: { [key]: value },
      user: '0',
    });
    expect(out.exitCode, out.stderr).toBe(0);
    const found = JSON.parse(out.stdout) as { containerId?: string; hostHome?: string };
    expect(found.containerId).toMatch(/^[0-9a-f]{64}$/);
    expect(found.hostHome).toBeUndefined();
  });
});
