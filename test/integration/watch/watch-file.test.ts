/**
 * `modelport watch --manifest-out` and `modelport model register --deploy-spec` with the real CLI, a
 * real registry and real files. The spec names its image, so nothing is packaged here (the Docker
 * tests in test/docker/watch package and run the images): new versions change the manifest's model
 * env, the gate decides, restarts and repeats deploy nothing twice, failures are retried.
 */
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runModelport } from '../../support/cli.js';
import { tempDir } from '../../support/tmp.js';
import { expectOk, manifestModule, registerVersion, startWatch, type WatchRun } from './helpers.js';

const tmp = tempDir('watch-file');
const home = join(tmp.path, 'home');
const env = { MODELPORT_HOME: home };
const MODULE = 'scorer';
let watch: WatchRun | undefined;

/** A spec serving `regression:latest` from a fixed image (plus `extra` lines under the spec). */
function writeSpec(name: string, extra = '', model = 'regression:latest'): string {
  const path = join(tmp.path, `${name}.yaml`);
  writeFileSync(
    path,
    [
      `name: ${name}`,
      'modules:',
      `  ${MODULE}:`,
      '    image: registry.test/scoring:fixed',
      `    models: ["${model}"]`,
      '    createOptions: {HostConfig: {NetworkMode: host}}',
      extra,
    ].join('\n'),
  );
  return path;
}

/** A gate that rejects the versions listed, logs every call, and echoes the model it was asked about. */
function writeGate(rejects: number[]): { path: string; calls: () => string[] } {
  const path = join(tmp.path, 'gate.sh');
  const log = join(tmp.path, 'gate.log');
  writeFileSync(
    path,
    [
      '#!/bin/sh',
      `echo "$MODELPORT_MODEL_NAME $MODELPORT_MODEL_VERSION $MODELPORT_MODEL_DIGEST $MODELPORT_MODEL_REF $MODELPORT_DEPLOYMENT_SPEC" >> ${log}`,
      'case "$MODELPORT_MODEL_VERSION" in',
      `  ${rejects.join('|')}) echo "evaluating $MODELPORT_MODEL_REF"; echo "accuracy 0.41 is below 0.90" >&2; exit 1 ;;`,
      'esac',
      'echo "accuracy 0.97"',
      '',
    ].join('\n'),
  );
  chmodSync(path, 0o755);
  return { path, calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []) };
}

const digestOf = (run: Awaited<ReturnType<typeof registerVersion>>) => run.json().result.digest as string;

beforeAll(async () => {
  expectOk(await registerVersion(home, 'regression', 1));
});

afterAll(async () => {
  await watch?.stop();
  tmp.cleanup();
});

describe('modelport watch --once --manifest-out', () => {
  const out = join(tmp.path, 'once', 'deployment.json');
  const spec = writeSpec('once-fleet');
  const mp = (args: string[]) => runModelport(['watch', '--spec', spec, '--manifest-out', out, ...args], env);

  it('deploys the latest version, is unchanged when run again, plans (dry run) then deploys a new version', async () => {
    mkdirSync(join(tmp.path, 'once'), { recursive: true });
    const first = await mp(['--once', '--json']);
    expectOk(first);
    const result = first.json().result;
    expect(result.outcome).toBe('deployed');
    expect(result.rollout.models).toEqual([
      { module: MODULE, model: 'regression:1', digest: expect.stringMatching(/^sha256:/) },
    ]);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    let module = manifestModule(out, MODULE);
    expect(module.env['AZUREML_MODEL_DIR']).toBe('/var/azureml-app/azureml-models/regression/1');
    // Model modules are marked for the agent's start-first update, with their public port.
    expect(module.createOptions['Labels']).toEqual({ 'modelport.update': 'start-first' });
    expect(module.env['MODELPORT_PORT']).toBe('5001');
    // Events go to stderr as JSON lines; stdout holds the one result document.
    const events = first.stderr
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { event: string; message: string });
    expect(events.map((e) => e.event)).toEqual([
      'rollout-planned',
      'step-started',
      'step-succeeded',
      'warning',
      'step-started',
      'step-succeeded',
      'deployed',
    ]);
    expect(events[3]?.message).toMatch(/the spec has no routes/);

    const written = readFileSync(out, 'utf8');
    const mtime = statSync(out).mtimeMs;
    const again = await mp(['--once', '--json']);
    expectOk(again);
    expect(again.json().result.outcome).toBe('unchanged');
    expect([readFileSync(out, 'utf8'), statSync(out).mtimeMs]).toEqual([written, mtime]);

    expectOk(await registerVersion(home, 'regression', 2));
    const dry = await mp(['--dry-run', '--json']);
    expectOk(dry);
    expect(dry.json().result).toMatchObject({ outcome: 'planned', status: 'rollout' });
    expect(dry.json().result.steps.map((s: { action: string }) => s.action)).toEqual(['generate', 'apply']);
    expect(readFileSync(out, 'utf8')).toBe(written);

    const human = await mp(['--once']);
    expectOk(human);
    expect(human.stdout).toMatch(
      /^Deployed rollout [0-9a-f]{12} to manifest .*deployment\.json\n {2}scorer: regression:2/,
    );
    module = manifestModule(out, MODULE);
    expect(module.env['AZUREML_MODEL_DIR']).toBe('/var/azureml-app/azureml-models/regression/2');
  });

  it('writes the manifest again when it was deleted or edited by hand, without a new rollout', async () => {
    const before = readFileSync(out, 'utf8');
    rmSync(out);
    const restored = await mp(['--once', '--json']);
    expectOk(restored);
    expect(restored.json().result.outcome).toBe('deployed');
    expect(readFileSync(out, 'utf8')).toBe(before);
    writeFileSync(out, '{"edited": true}');
    expectOk(await mp(['--once']));
    expect(readFileSync(out, 'utf8')).toBe(before);
  });

  it('exits 3 with nothing written when the spec names a model that is not registered', async () => {
    const missing = writeSpec('missing-fleet', '', 'nosuch:latest');
    const target = join(tmp.path, 'missing.json');
    const run = await runModelport(
      ['watch', '--spec', missing, '--manifest-out', target, '--once', '--json'],
      env,
    );
    expect(run.code).toBe(3);
    expect(run.json().result.outcome).toBe('blocked');
    expect(run.json().result.notes).toEqual([
      { kind: 'missing', module: MODULE, message: "no model named 'nosuch' is registered" },
    ]);
    expect(existsSync(target)).toBe(false);
  });
});

describe('the gate, and modelport model register --deploy-spec', () => {
  it('rejects a version (recorded, not asked again, manifest untouched); the next accepted version is deployed', async () => {
    const gate = writeGate([3]);
    const spec = writeSpec('gated-fleet', 'rollout: {gate: gate.sh}');
    const out = join(tmp.path, 'gated.json');
    const deploy = ['--deploy-spec', spec, '--manifest-out', out];
    // The current version (2) goes through the gate too: this target has deployed nothing yet.
    const first = await runModelport(
      ['watch', '--spec', spec, '--manifest-out', out, '--once', '--json'],
      env,
    );
    expectOk(first);
    expect(first.json().result.gate).toMatchObject([
      { name: 'regression', version: 2, accepted: true, detail: 'accuracy 0.97' },
    ]);
    const v2 = readFileSync(out, 'utf8');

    const three = await registerVersion(home, 'regression', 3, deploy);
    expectOk(three);
    const deployment = three.json().result.deployment;
    expect(three.json().result.version).toBe(3);
    expect(deployment.outcome).toBe('rejected');
    expect(deployment.gate).toMatchObject([
      { version: 3, accepted: false, detail: 'accuracy 0.41 is below 0.90' },
    ]);
    expect(readFileSync(out, 'utf8')).toBe(v2);
    const [, call] = gate.calls();
    expect(call).toBe(`regression 3 ${digestOf(three)} regression:3 ${spec}`);

    const again = await runModelport(
      ['watch', '--spec', spec, '--manifest-out', out, '--once', '--json'],
      env,
    );
    expect(again.json().result.outcome).toBe('unchanged');
    expect(again.json().result.notes.map((n: { kind: string }) => n.kind)).toEqual(['rejected', 'kept']);
    expect(gate.calls()).toHaveLength(2);

    const four = await registerVersion(home, 'regression', 4, deploy);
    expectOk(four);
    expect(four.json().result.deployment).toMatchObject({
      outcome: 'deployed',
      gate: [{ version: 4, accepted: true }],
    });
    expect(manifestModule(out, MODULE).env['AZUREML_MODEL_DIR']).toMatch(/\/regression\/4$/);
    expect(gate.calls()).toHaveLength(3);
  });

  it('checks the spec, target and gate before registering: a gate that is not executable registers nothing', async () => {
    const spec = writeSpec('broken-gate', 'rollout: {gate: missing-gate.sh}');
    const before = (await runModelport(['model', 'list', '--name', 'regression', '--json'], env)).json()
      .result.length;
    const run = await registerVersion(home, 'regression', 9, [
      '--deploy-spec',
      spec,
      '--manifest-out',
      join(tmp.path, 'x.json'),
    ]);
    expect(run.code).toBe(2);
    expect(run.json().error).toMatchObject({ code: 'GATE_NOT_FOUND' });
    const after = (await runModelport(['model', 'list', '--name', 'regression', '--json'], env)).json().result
      .length;
    expect(after).toBe(before);
  });

  it.each([
    [
      [
        '--manifest-out',
        'a.json',
        '--hub-connection-string',
        'HostName=h;SharedAccessKeyName=k;SharedAccessKey=YQ==',
      ],
      'WATCH_TARGET_INVALID',
    ],
    [[], 'WATCH_TARGET_MISSING'],
    [['--manifest-out', 'a.json', '--interval', '0'], 'NUMBER_INVALID'],
  ])('refuses %j with exit 2 (%s)', async (args, code) => {
    const run = await runModelport(['watch', '--spec', writeSpec('usage'), '--once', '--json', ...args], {
      ...env,
      MODELPORT_HUB_CONNECTION_STRING: '',
    });
    expect(run.code).toBe(2);
    expect(run.json().error?.code).toBe(code);
  });
});

describe('modelport watch (continuous)', () => {
  it('deploys each new registration, retries a failed write until it succeeds, and stops on SIGTERM', async () => {
    const spec = writeSpec('live-fleet');
    const folder = join(tmp.path, 'live'); // does not exist yet: the first writes fail
    const out = join(folder, 'deployment.json');
    watch = startWatch(['--spec', spec, '--manifest-out', out, '--interval', '0.2'], env);
    const failed = await watch.waitForEvent((e) => e['event'] === 'step-failed');
    expect(failed).toMatchObject({ code: 'OUTPUT_DIR_MISSING', step: expect.stringMatching(/^apply:/) });
    await watch.waitForEvent((e) => e['event'] === 'retry-scheduled');
    expect(existsSync(out)).toBe(false);
    mkdirSync(folder);
    await watch.waitForEvent((e) => e['event'] === 'deployed');
    expect(manifestModule(out, MODULE).env['AZUREML_MODEL_DIR']).toMatch(/\/regression\/4$/);

    expectOk(await registerVersion(home, 'regression', 5));
    await watch.waitForEvent(
      (e) => e['event'] === 'deployed' && JSON.stringify(e['models']).includes('regression:5'),
    );
    expect(manifestModule(out, MODULE).env['AZUREML_MODEL_DIR']).toMatch(/\/regression\/5$/);
    // Nothing new: a cycle that runs (the spec file changed, not what it says) finds nothing to do.
    const deployed = () => watch?.events().filter((e) => e['event'] === 'deployed').length;
    const count = deployed();
    const mark = watch.events().length;
    appendFileSync(spec, '# reviewed\n');
    await watch.waitForEvent((e) => e['event'] === 'up-to-date', 60_000, mark);
    expect(deployed()).toBe(count);

    const stopped = await watch.stop();
    watch = undefined;
    expect(stopped.code).toBe(0);
    expect(stopped.doc.result).toMatchObject({ rollouts: 2, last: { outcome: 'unchanged' } });
    expect((stopped.doc.result?.['failures'] as number) >= 1).toBe(true);
  });
});
