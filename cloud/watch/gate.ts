/**
 * The gate: an executable the operator provides (an evaluation, a canary check, a sign-off) that
 * decides whether a new model version is deployed. It runs with the model in its environment —
 * MODELPORT_MODEL_NAME, MODELPORT_MODEL_VERSION, MODELPORT_MODEL_DIGEST, MODELPORT_MODEL_REF
 * (`name:version`, for `modelport model download`) and MODELPORT_DEPLOYMENT_SPEC — and accepts with
 * exit code 0. Any other exit code rejects (recorded: the version is not asked about again). A gate
 * that cannot be started, does not finish in time, or dies of a signal (OOM killer, an operator's
 * kill) has not decided: that is a failure, retried. The gate runs in a process group of its own, so
 * a timeout or shutdown kills what it started too (a `sleep` in a shell script, an evaluation job),
 * and so does its own exit: a gate leaves nothing behind.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { access, constants, stat } from 'node:fs/promises';
import { ModelportError, UnavailableError, UsageError } from '../../common/errors.js';
import type { ModelVersion } from './types.js';

export interface GateSettings {
  script: string;
  timeoutMs: number;
}

export interface GateVerdict {
  accepted: boolean;
  detail: string;
}

const MAX_DETAIL = 300;
/** Output kept per stream: the end is what explains a verdict. */
const MAX_OUTPUT = 64 * 1024;
/** How long to wait for the gate's output pipes to close once its process group is gone. */
const PIPE_GRACE_MS = 2_000;

/** Throws a UsageError when the gate is not an executable file (checked before watching starts). */
export async function checkGate(script: string): Promise<void> {
  const info = await stat(script).catch(() => undefined);
  if (!info?.isFile()) throw new UsageError('GATE_NOT_FOUND', `the gate ${script} is not a file`);
  await access(script, constants.X_OK).catch(() => {
    throw new UsageError('GATE_NOT_EXECUTABLE', `the gate ${script} is not executable`, {
      hint: `chmod +x ${script} (and give it a #! line)`,
    });
  });
}

/** The last non-empty output line (stderr first), clipped: why the gate said what it said. */
function lastLine(stdout: string, stderr: string): string | undefined {
  for (const text of [stderr, stdout]) {
    const line = text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .at(-1);
    if (line) return line.length > MAX_DETAIL ? `${line.slice(0, MAX_DETAIL - 1)}…` : line;
  }
  return undefined;
}

/** Sends SIGKILL to the gate's whole process group (it leads one: spawned `detached`). */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch (e) {
    // ESRCH: the group is already gone, which is what we want. Anything else (EPERM: the gate
    // changed its credentials): kill at least the gate itself.
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') child.kill('SIGKILL');
  }
}

type Ending =
  | { kind: 'exit'; code: number | null; signal: NodeJS.Signals | null }
  | { kind: 'timeout' }
  | { kind: 'cancelled' }
  | { kind: 'spawn-error'; error: Error };

export function runGate(
  gate: GateSettings,
  model: ModelVersion,
  context: { specPath: string; env: NodeJS.ProcessEnv; signal?: AbortSignal },
): Promise<GateVerdict> {
  const ref = `${model.name}:${model.version}`;
  if (context.signal?.aborted) return Promise.reject(cancelled(gate, ref));
  return new Promise((resolve, reject) => {
    const child = spawn(gate.script, [], {
      env: {
        ...context.env,
        MODELPORT_MODEL_NAME: model.name,
        MODELPORT_MODEL_VERSION: String(model.version),
        MODELPORT_MODEL_DIGEST: model.digest,
        MODELPORT_MODEL_REF: ref,
        MODELPORT_DEPLOYMENT_SPEC: context.specPath,
      },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = { stdout: '', stderr: '' };
    for (const name of ['stdout', 'stderr'] as const) {
      child[name]?.setEncoding('utf8');
      child[name]?.on('data', (chunk: string) => {
        output[name] = (output[name] + chunk).slice(-MAX_OUTPUT);
      });
    }
    let ending: Ending | undefined;
    const end = (e: Ending) => {
      ending ??= e;
    };
    const timer = setTimeout(() => {
      end({ kind: 'timeout' });
      killGroup(child);
    }, gate.timeoutMs);
    const onAbort = () => {
      end({ kind: 'cancelled' });
      killGroup(child);
    };
    context.signal?.addEventListener('abort', onAbort, { once: true });
    let pipeGrace: NodeJS.Timeout | undefined;
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(pipeGrace);
      context.signal?.removeEventListener('abort', onAbort);
      const how = ending ?? { kind: 'exit', code: null, signal: null };
      try {
        resolve(verdictOf(how, gate, ref, output));
      } catch (e) {
        reject(e);
      }
    };
    child.on('error', (error) => {
      end({ kind: 'spawn-error', error });
      settle();
    });
    child.on('exit', (code, signal) => {
      end({ kind: 'exit', code, signal });
      // The gate is done: whatever it left running in its group goes too (and its pipes close).
      killGroup(child);
      // A descendant that left the group could hold the pipes open: stop waiting for them.
      pipeGrace = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        settle();
      }, PIPE_GRACE_MS);
    });
    child.on('close', settle);
  });
}

function cancelled(gate: GateSettings, ref: string): ModelportError {
  return new ModelportError(
    'GATE_CANCELLED',
    `the gate ${gate.script} for ${ref} was stopped: the watch is shutting down`,
    {
      hint: 'it is asked again when the watch runs next',
    },
  );
}

/** What an ended gate said: a verdict (exit 0 accepts, another exit code rejects), or why it said nothing. */
function verdictOf(
  ending: Ending,
  gate: GateSettings,
  ref: string,
  output: { stdout: string; stderr: string },
): GateVerdict {
  switch (ending.kind) {
    case 'timeout':
      throw new UnavailableError(
        'GATE_TIMEOUT',
        `the gate ${gate.script} did not finish within ${Math.round(gate.timeoutMs / 1000)} s for ${ref}`,
        { hint: 'it is asked again on the next attempt; raise --gate-timeout if it needs longer' },
      );
    case 'cancelled':
      throw cancelled(gate, ref);
    case 'spawn-error':
      throw new ModelportError(
        'GATE_NOT_RUNNABLE',
        `cannot run the gate ${gate.script}: ${ending.error.message}`,
        {
          hint: 'the gate must be an executable file with a #! line',
          cause: ending.error,
        },
      );
    case 'exit': {
      const detail = lastLine(output.stdout, output.stderr);
      if (ending.code === 0) return { accepted: true, detail: detail ?? 'exit code 0' };
      if (ending.code !== null) return { accepted: false, detail: detail ?? `exit code ${ending.code}` };
      // Killed from outside (OOM killer, an operator): the gate did not decide.
      throw new UnavailableError(
        'GATE_KILLED',
        `the gate ${gate.script} was killed by ${ending.signal ?? 'a signal'} while deciding about ${ref}${detail ? ` (last output: ${detail})` : ''}`,
        { hint: 'it is asked again on the next attempt; check what killed it (memory limits, dmesg)' },
      );
    }
  }
}
