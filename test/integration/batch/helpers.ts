import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { runModelport } from '../../support/cli.js';
import { type FixtureName, writeFixture } from '../../support/onnx/fixtures.js';

/** Registers fixtures in MODELPORT_HOME with the real CLI; returns the env to pass to it. */
export async function registerFixtures(home: string, names: FixtureName[]): Promise<NodeJS.ProcessEnv> {
  const env = { MODELPORT_HOME: home };
  for (const name of names) {
    const file = await writeFixture(name, join(home, 'src'));
    const r = await runModelport(['model', 'register', '--name', name, '--path', file, '--json'], env);
    expect(r.code, r.stderr).toBe(0);
  }
  return env;
}

/** A small seeded generator (LCG), so record files and kill points repeat run after run. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** `n` rows of `width` values with 3 decimals (exact as text, float32 after parsing). */
export function rows(n: number, width: number, random: () => number): number[][] {
  return Array.from({ length: n }, () =>
    Array.from({ length: width }, () => Math.round((random() * 4 - 2) * 1000) / 1000),
  );
}

// biome-ignore lint/suspicious/noExplicitAny: output lines of any model
export type OutputLine = { line: number; file?: string; id?: string | number; output: any };
export type RejectLine = { line: number; file?: string; reason: string };

export function readJsonLines<T>(path: string): T[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as T);
}

/** Asserts |a - b| is within float32 rounding of the reference computation. */
export function expectClose(actual: number, expected: number, what: string): void {
  const tolerance = 1e-5 + Math.abs(expected) * 1e-5;
  if (Math.abs(actual - expected) > tolerance) {
    throw new Error(`${what}: ${actual} is not within ${tolerance} of ${expected}`);
  }
}

/** Asserts a record's output row against the reference values from `offset`. */
export function expectRowClose(
  actual: number[],
  expected: ArrayLike<number>,
  offset: number,
  what: string,
): void {
  for (const [k, v] of actual.entries()) expectClose(v, expected[offset + k] as number, `${what}[${k}]`);
}
