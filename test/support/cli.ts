import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');
export const MODELPORT_BIN = join(REPO_ROOT, 'bin', 'modelport.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (for --json runs). */
  // biome-ignore lint/suspicious/noExplicitAny: tests index into command results of every shape
  json: () => { status: number; result?: any; error?: { code: string; message: string; hint?: string } };
}

/** Runs the real `modelport` binary to completion. */
export function runModelport(args: string[], env: NodeJS.ProcessEnv = {}, input?: string): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MODELPORT_BIN, ...args], {
      env: { ...process.env, MODELPORT_LOG_LEVEL: 'warn', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, json: () => JSON.parse(stdout) }));
    child.stdin.end(input ?? '');
  });
}

/**
 * Starts a long-running `modelport` command (serve, watch) and resolves with its first JSON document
 * on stdout (the command must be given --json).
 */
export function startModelport(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  // biome-ignore lint/suspicious/noExplicitAny: the first JSON document of any command
): Promise<{ child: ChildProcess; doc: any; stderr: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MODELPORT_BIN, ...args], {
      env: { ...process.env, MODELPORT_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => {
      stdout += d;
      try {
        resolve({ child, doc: JSON.parse(stdout), stderr: () => stderr });
      } catch {
        // not a whole document yet
      }
    });
    child.on('exit', (code) =>
      reject(new Error(`modelport ${args.join(' ')} exited with ${code}: ${stderr}`)),
    );
  });
}

export function waitForExit(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}
