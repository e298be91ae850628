/**
 * The gate as a real process: exit codes decide, a timeout or shutdown kills the gate's whole process
 * group (nothing it started is left running), and a gate killed by a signal has not decided.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { runGate } from '../../../cloud/watch/gate.js';
import { isModelportError } from '../../../common/errors.js';
import { tempDir } from '../../support/tmp.js';

const tmp = tempDir('gate');
const model = { name: 'regression', version: 3, digest: `sha256:${'a'.repeat(64)}` };
const context = { specPath: '/specs/deployment.yaml', env: { PATH: process.env['PATH'] ?? '' } };
let scripts = 0;

afterAll(() => tmp.cleanup());

/** A `#!/bin/sh` gate with `body`; `$PIDS` is a file it may write process ids to. */
function gateScript(body: string[]): { script: string; pids: string } {
  const n = ++scripts;
  const script = join(tmp.path, `gate-${n}.sh`);
  const pids = join(tmp.path, `gate-${n}.pids`);
  writeFileSync(script, ['#!/bin/sh', `PIDS=${pids}`, ...body, ''].join('\n'));
  chmodSync(script, 0o755);
  return { script, pids };
}

/** The pids the gate wrote, once it wrote `count` of them. */
async function pidsOf(file: string, count: number): Promise<number[]> {
  for (;;) {
    const pids = existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : [];
    if (pids.length >= count) return pids.map(Number);
    await sleep(20);
  }
}

/** True once `pid` is gone or a zombie (exited, waiting for its new parent to reap it). */
function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    // No /proc entry: the process no longer exists.
    return true;
  }
}

/** Resolves once every pid is gone (the test times out, failing, if one stays). */
async function untilGone(pids: number[]): Promise<void> {
  while (!pids.every(gone)) await sleep(20);
}

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the gate to fail');
}

describe('runGate', () => {
  it('accepts on exit 0 and rejects on another exit code, with the last output line as the reason', async () => {
    const ok = gateScript(['echo "$MODELPORT_MODEL_REF $MODELPORT_DEPLOYMENT_SPEC"']);
    expect(await runGate({ script: ok.script, timeoutMs: 30_000 }, model, context)).toEqual({
      accepted: true,
      detail: 'regression:3 /specs/deployment.yaml',
    });
    const no = gateScript(['echo "accuracy 0.41 is below 0.90" >&2', 'exit 3']);
    expect(await runGate({ script: no.script, timeoutMs: 30_000 }, model, context)).toEqual({
      accepted: false,
      detail: 'accuracy 0.41 is below 0.90',
    });
  });

  it('on timeout kills the whole process group: a sleep the gate started is gone too', async () => {
    const g = gateScript(['echo $$ >> "$PIDS"', 'sleep 1000 &', 'echo $! >> "$PIDS"', 'sleep 1000']);
    const error = await errorOf(runGate({ script: g.script, timeoutMs: 500 }, model, context));
    expect(isModelportError(error) && [error.code, error.message]).toEqual([
      'GATE_TIMEOUT',
      expect.stringContaining('did not finish within'),
    ]);
    await untilGone(await pidsOf(g.pids, 2));
  });

  it('when the gate exits, removes what it left running in the background', async () => {
    const g = gateScript(['sleep 1000 > /dev/null 2>&1 &', 'echo $! >> "$PIDS"', 'echo fine']);
    expect(await runGate({ script: g.script, timeoutMs: 30_000 }, model, context)).toEqual({
      accepted: true,
      detail: 'fine',
    });
    await untilGone(await pidsOf(g.pids, 1));
  });

  it('reports a shutdown as cancelled (not as a timeout) and kills the gate', async () => {
    const g = gateScript(['echo $$ >> "$PIDS"', 'sleep 1000']);
    const abort = new AbortController();
    const running = errorOf(
      runGate({ script: g.script, timeoutMs: 600_000 }, model, { ...context, signal: abort.signal }),
    );
    const pids = await pidsOf(g.pids, 1);
    abort.abort();
    const error = await running;
    expect(isModelportError(error) && error.code).toBe('GATE_CANCELLED');
    expect((error as Error).message).not.toContain('did not finish within');
    await untilGone(pids);
  });

  it('treats a gate killed by a signal as undecided (a failure, retried), not as a rejection', async () => {
    const g = gateScript(['echo "evaluating"', 'kill -9 $$']);
    const error = await errorOf(runGate({ script: g.script, timeoutMs: 30_000 }, model, context));
    expect(isModelportError(error) && [error.code, error.exitCode]).toEqual(['GATE_KILLED', 5]);
    expect((error as Error).message).toContain('SIGKILL');
  });

  it('fails with GATE_NOT_RUNNABLE when the gate cannot be started', async () => {
    const script = join(tmp.path, 'removed-since-checked.sh');
    const error = await errorOf(runGate({ script, timeoutMs: 30_000 }, model, context));
    expect(isModelportError(error) && error.code).toBe('GATE_NOT_RUNNABLE');
  });
});
