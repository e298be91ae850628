import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelportError, UsageError } from '../../common/errors.js';
import { readProc } from './proc-stats.js';
import type { ProfileTarget, StepUsage, TargetLimits } from './target.js';

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
const RSS_POLL_MS = 100;

/** `bin/modelport.js` of this installation (from dist/ or from the TypeScript sources). */
export function modelportBin(fromUrl: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(fromUrl));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'modelport'
    ) {
      return join(dir, 'bin', 'modelport.js');
    }
    const parent = dirname(dir);
    if (parent === dir)
      throw new ModelportError(
        'INSTALL_NOT_FOUND',
        'cannot find the modelport installation to start its server',
      );
    dir = parent;
  }
}

/** An executable on PATH, or undefined. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

/**
 * How `--cpus` limits a child process: by CPU affinity (taskset), which pins it to whole cores. A
 * fractional limit is rounded up to whole cores and says so; a hard fractional quota needs a cgroup,
 * which is what `--image` gets from Docker (NanoCpus).
 */
export function affinityPlan(
  cpus: number | undefined,
  cores: number,
): { cores: number[]; description: string; warnings: string[] } | undefined {
  if (cpus === undefined) return undefined;
  const warnings: string[] = [];
  let count = Math.ceil(cpus);
  if (count !== cpus) {
    warnings.push(
      `--cpus ${cpus}: a process can only be pinned to whole cores, so the server gets ${count}; for a fractional CPU quota profile the packaged image with --image`,
    );
  }
  if (count > cores) {
    warnings.push(`--cpus ${cpus}: this machine lets the server use ${cores} core(s)`);
    count = cores;
  }
  const list = Array.from({ length: count }, (_, i) => i);
  return { cores: list, description: `taskset -c ${list.join(',')} (CPU affinity, whole cores)`, warnings };
}

/**
 * Starts `modelport serve --model N:V --port 0 --json` as a child process (pinned with taskset when
 * `--cpus` is given) and waits for the JSON document it prints once listening.
 */
export async function startProcessTarget(
  modelRef: string,
  limits: TargetLimits,
  env: NodeJS.ProcessEnv,
): Promise<{ target: ProfileTarget; warnings: string[] }> {
  if (limits.memoryBytes !== undefined) {
    throw new UsageError('MEMORY_LIMIT_NEEDS_IMAGE', '--memory limits a container: it needs --image', {
      hint: 'package the model (modelport package) and profile the image with --image REPO:TAG --memory M',
    });
  }
  const serveArgs = [
    modelportBin(),
    'serve',
    '--model',
    modelRef,
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--json',
  ];
  const plan = affinityPlan(limits.cpus, availableParallelism());
  let command = process.execPath;
  let args = serveArgs;
  if (plan) {
    const taskset = findOnPath('taskset', env);
    if (!taskset) {
      throw new UsageError(
        'TASKSET_MISSING',
        '--cpus on a child process needs taskset (util-linux) on PATH',
        {
          hint: 'install util-linux, or profile the packaged image with --image (Docker limits it)',
        },
      );
    }
    command = taskset;
    args = ['-c', plan.cores.join(','), process.execPath, ...serveArgs];
  }
  const child = spawn(command, args, {
    env: { ...env, MODELPORT_LOG_LEVEL: env.MODELPORT_LOG_LEVEL ?? 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = await waitForListening(child, modelRef);
  const pid = child.pid as number;
  return {
    target: {
      url,
      server: {
        mode: 'process',
        cpus: limits.cpus ?? null,
        cpuLimit: plan?.description ?? 'none',
        memoryLimitBytes: null,
        pid,
      },
      measure: () => measureProcess(pid),
      peakRssBytes: async () => (await readProc(pid)).peakRssBytes,
      stop: () => stopChild(child),
    },
    warnings: plan?.warnings ?? [],
  };
}

function waitForListening(child: ChildProcess, modelRef: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    let settled = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(`did not start listening within ${START_TIMEOUT_MS / 1000} s`);
    }, START_TIMEOUT_MS);
    /** `withLog`: add what the server wrote on stderr (when its own error report is not at hand). */
    const fail = (why: string, withLog = true) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      const log = withLog && stderr.trim() ? `: ${stderr.trim().slice(-2000)}` : '';
      reject(
        new ModelportError('SERVER_START_FAILED', `the scoring server for ${modelRef} ${why}${log}`, {
          hint: `run \`modelport serve --model ${modelRef}\` to see it start`,
        }),
      );
    };
    // Both pipes are drained for the server's whole life (a full pipe would stall it); text is kept
    // only until it is listening, for the error message.
    child.stderr?.on('data', (d) => {
      if (!settled) stderr += d;
    });
    child.stdout?.on('data', (d) => {
      if (settled) return;
      stdout += d;
      let doc: { status?: number; result?: { url?: string }; error?: { message?: string } };
      try {
        doc = JSON.parse(stdout);
      } catch {
        return; // not a whole document yet
      }
      if (doc.status === 0 && doc.result?.url) {
        clearTimeout(timer);
        settled = true;
        resolve(doc.result.url);
      } else fail(`failed: ${doc.error?.message ?? stdout}`, doc.error?.message === undefined);
    });
    child.once('error', (e) => fail(`could not be started (${e.message})`));
    child.once('exit', (code, signal) => fail(`exited (${signal ?? `code ${code}`}) before listening`));
  });
}

/** CPU from the process's CPU time over wall time; memory from VmRSS polled every 100 ms. */
async function measureProcess(pid: number): Promise<() => Promise<StepUsage>> {
  const first = await readProc(pid);
  const startedAt = performance.now();
  let peak = first.rssBytes;
  let polling: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    polling = readProc(pid).then(
      (s) => {
        peak = Math.max(peak, s.rssBytes);
      },
      () => undefined, // a failed poll is reported by the final read below
    );
  }, RSS_POLL_MS);
  return async () => {
    clearInterval(timer);
    await polling;
    const last = await readProc(pid);
    const seconds = (performance.now() - startedAt) / 1000;
    return {
      cpuCores: seconds > 0 ? (last.cpuSeconds - first.cpuSeconds) / seconds : 0,
      peakRssBytes: Math.max(peak, last.rssBytes),
    };
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
