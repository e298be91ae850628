/**
 * What the watch tests share: a modelport home with regression models registered by the real CLI
 * (each version with its own weights, so each has its own digest), specs written to files, the
 * long-running `modelport watch` as a child process whose events are read from stderr, and the
 * manifest it writes, read back.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { MODELPORT_BIN, runModelport } from '../../support/cli.js';
import { REGRESSION_B, REGRESSION_W, regression10Spec, writeModel } from '../../support/onnx/fixtures.js';

/** Weights of version `n`: the fixture's, scaled, so every version predicts differently. */
export function weightsOf(n: number): { weights: Float32Array<ArrayBuffer>; bias: number } {
  const weights = new Float32Array(REGRESSION_W.length);
  REGRESSION_W.forEach((w, i) => {
    weights[i] = w * n;
  });
  return { weights, bias: REGRESSION_B + n };
}

/** Registers version `n` of `name` (regression10 shape) with the real CLI; returns its digest. */
export async function registerVersion(
  home: string,
  name: string,
  n: number,
  extra: string[] = [],
  env: NodeJS.ProcessEnv = {},
) {
  const { weights, bias } = weightsOf(n);
  const dir = join(home, 'src', `${name}-${n}`);
  mkdirSync(dir, { recursive: true });
  const file = await writeModel(regression10Spec(weights, bias), join(dir, 'model.onnx'));
  const run = await runModelport(['model', 'register', '--name', name, '--path', file, '--json', ...extra], {
    MODELPORT_HOME: home,
    ...env,
  });
  return run;
}

/** The `$edgeAgent` module of a manifest file, with its env values and createOptions parsed. */
export function manifestModule(path: string, module: string) {
  const manifest = JSON.parse(readFileSync(path, 'utf8'));
  const m = manifest.modulesContent.$edgeAgent['properties.desired'].modules[module];
  return {
    image: m.settings.image as string,
    createOptions: JSON.parse(m.settings.createOptions ?? '{}') as Record<string, unknown>,
    env: Object.fromEntries(Object.entries(m.env ?? {}).map(([k, v]) => [k, (v as { value: string }).value])),
  };
}

export interface WatchRun {
  child: ChildProcess;
  /** JSON events written to stderr so far (the command runs with --json). */
  events(): Record<string, unknown>[];
  /** The first event matching `predicate` among those from index `after` on. */
  waitForEvent(
    predicate: (e: Record<string, unknown>) => boolean,
    timeoutMs?: number,
    after?: number,
  ): Promise<Record<string, unknown>>;
  /** SIGTERM; resolves with the exit code and the final JSON document on stdout. */
  stop(): Promise<{ code: number | null; doc: { status: number; result?: Record<string, unknown> } }>;
  /** Waits for the process to end by itself (`--once`); resolves as `stop` does. */
  finished(): Promise<{ code: number | null; doc: { status: number; result?: Record<string, unknown> } }>;
}

/** Starts `modelport watch … --json` and collects its events. */
export function startWatch(args: string[], env: NodeJS.ProcessEnv): WatchRun {
  const child = spawn(process.execPath, [MODELPORT_BIN, 'watch', ...args, '--json'], {
    env: { ...process.env, MODELPORT_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const events = () =>
    stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    child,
    events,
    async waitForEvent(predicate, timeoutMs = 60_000, after = 0) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events().slice(after).find(predicate);
        if (found) return found;
        if (child.exitCode !== null || Date.now() > deadline) {
          throw new Error(`watch: event not seen (exit ${child.exitCode}); stderr:\n${stderr.slice(-4000)}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return this.finished();
    },
    async finished() {
      const code = await exited;
      return { code, doc: stdout.trim() === '' ? { status: -1 } : JSON.parse(stdout) };
    },
  };
}

export function expectOk(run: { code: number | null; stdout: string; stderr: string }): void {
  expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
}
