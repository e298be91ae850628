/** `modelport serve --collect-dir DIR`, the real binary: scored requests become JSON lines in DIR. */

import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODELPORT_BIN, runModelport, startModelport, waitForExit } from '../../support/cli.js';
import { GUIDE_SAMPLE } from '../../support/fixture-reference.js';
import { writeFixture } from '../../support/onnx/fixtures.js';
import { tempDir } from '../../support/tmp.js';

const work = tempDir('collect-cli');
const env = { MODELPORT_HOME: join(work.path, 'home') };

beforeAll(async () => {
  const file = await writeFixture('regression10', join(work.path, 'src'));
  const r = await runModelport(['model', 'register', '--name', 'regression10', '--path', file], env);
  expect(r.code, r.stderr).toBe(0);
});
afterAll(() => work.cleanup());

function lines(dir: string): Array<{ requestId: string; model: string; inputs: Record<string, unknown> }> {
  let files: string[] = [];
  try {
    files = readdirSync(dir);
  } catch {
    // Not made until the first record.
  }
  return files.flatMap((f) =>
    readFileSync(join(dir, f), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l)),
  );
}

/** The binary without --json: stderr as it comes (warnings are printed after the human lines). */
function startModelportHuman(args: string[], extraEnv: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [MODELPORT_BIN, ...args], {
    env: { ...process.env, MODELPORT_LOG_LEVEL: 'warn', ...extraEnv },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  return { child, stderr: () => stderr };
}

describe('modelport serve --collect-dir', () => {
  it('appends one record per scored request, with the field settings from the environment', async () => {
    const dir = join(work.path, 'collected');
    const { child, doc } = await startModelport(
      ['serve', '--model', 'regression10', '--port', '0', '--collect-dir', dir, '--json'],
      { ...env, MODELPORT_COLLECT_FIELDS: '{"x":"hash"}' },
    );
    try {
      expect(doc.result).toMatchObject({ collectDir: dir, collectRate: 1 });
      for (const id of ['cli-1', 'cli-2']) {
        const res = await fetch(`${doc.result.url}/score`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-ms-client-request-id': id },
          body: JSON.stringify({ data: GUIDE_SAMPLE }),
        });
        expect(res.status).toBe(200);
      }
      await expect
        .poll(
          () =>
            lines(dir)
              .map((l) => l.requestId)
              .sort(),
          { timeout: 10_000 },
        )
        .toEqual(['cli-1', 'cli-2']);
      expect(readdirSync(dir)).toEqual([`collect-${new Date().toISOString().slice(0, 10)}.jsonl`]);
      for (const l of lines(dir)) {
        expect(l.model).toBe('regression10');
        expect(l.inputs.x).toMatch(/^[0-9a-f]{64}$/);
      }
    } finally {
      child.kill('SIGTERM');
      await waitForExit(child);
    }
  });

  it('warns (stderr, and in the --json envelope) that MODELPORT_COLLECT_RATE=0 collects nothing, and serves', async () => {
    const dir = join(work.path, 'rate-zero');
    const human = await startModelportHuman(
      ['serve', '--model', 'regression10', '--port', '0', '--collect-dir', dir],
      { ...env, MODELPORT_COLLECT_RATE: '0' },
    );
    try {
      await expect
        .poll(() => human.stderr(), { timeout: 20_000 })
        .toMatch(/warning: --collect-dir .* collects nothing: MODELPORT_COLLECT_RATE=0/);
    } finally {
      human.child.kill('SIGTERM');
      await waitForExit(human.child);
    }
    const { child, doc } = await startModelport(
      ['serve', '--model', 'regression10', '--port', '0', '--collect-dir', dir, '--json'],
      { ...env, MODELPORT_COLLECT_RATE: '0' },
    );
    try {
      expect(doc.warnings).toEqual([expect.stringMatching(/collects nothing: MODELPORT_COLLECT_RATE=0/)]);
      expect(doc.result.collectDir).toBeUndefined();
      const res = await fetch(`${doc.result.url}/score`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ data: GUIDE_SAMPLE }),
      });
      expect(res.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await waitForExit(child);
    }
    expect(lines(dir)).toEqual([]);
  });

  it('refuses a bad MODELPORT_COLLECT_RATE with exit code 2 and the variable named', async () => {
    const r = await runModelport(
      ['serve', '--model', 'regression10', '--port', '0', '--collect-dir', join(work.path, 'c2'), '--json'],
      { ...env, MODELPORT_COLLECT_RATE: '2' },
    );
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/MODELPORT_COLLECT_RATE='2' is not a number from 0 to 1/);
  });
});
