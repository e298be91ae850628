/**
 * The real `modelport-agent` binary's edges: --version, usage errors and their exit codes, and a
 * clean stop on SIGTERM (exit 0) with a manifest whose Docker engine is not reachable.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildDeployment } from '../../../manifests/index.js';
import { REPO_ROOT } from '../../support/cli.js';
import { tempDir } from '../../support/tmp.js';

const BIN = join(REPO_ROOT, 'bin', 'modelport-agent.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  stopAfter?: (output: string) => boolean,
): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let stopping = false;
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
      if (!stopping && stopAfter?.(stderr)) {
        stopping = true;
        child.kill('SIGTERM');
      }
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir('agent-cli');
});
afterEach(() => tmp.cleanup());

describe('modelport-agent binary', () => {
  it('prints its version', async () => {
    const r = await run(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it.each([
    [[], /give exactly one of --manifest FILE \(offline\) or --connection-string CS/],
    [['--manifest', 'a.json', '--max-restarts', 'many'], /--max-restarts/],
    [['--connection-string', 'HostName=h;DeviceId=d;ModuleId=$edgeAgent'], /lacks SharedAccessKey/],
  ])('exits 2 on %j', async (args, message) => {
    const r = await run(args, { MODELPORT_AGENT_HOME: tmp.path });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('stops cleanly on SIGTERM (exit 0), keeping what it was told while Docker is unreachable', async () => {
    const manifest = join(tmp.path, 'deployment.json');
    writeFileSync(
      manifest,
      JSON.stringify(buildDeployment({ modules: { mod1: { image: 'reg.test/m:1' } } })),
    );
    const r = await run(
      ['--manifest', manifest, '--home', join(tmp.path, 'home'), '--interval', '1'],
      { DOCKER_HOST: `unix://${join(tmp.path, 'no-engine.sock')}`, MODELPORT_LOG_LEVEL: 'info' },
      // A pass that failed after the deployment was taken in: it is waiting for the engine.
      (output) =>
        output.indexOf('"event":"pass-failed"', output.indexOf('"event":"deployment-started"')) > 0 &&
        output.includes('"event":"deployment-started"'),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/desired version 1 received/);
    expect(r.stderr).toMatch(/docker list containers failed/);
    expect(r.stderr).toMatch(/received SIGTERM, stopping \(containers keep running\)/);
  });
});
