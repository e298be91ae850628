import { describe, expect, it } from 'vitest';
import { type Checkpoint, planStart, type StartFacts } from '../../../cloud/batch/checkpoint.js';
import { eta } from '../../../cloud/batch/progress-view.js';
import { defaultRejectsPath } from '../../../cloud/batch/run-batch.js';

const cp = (over: Partial<Checkpoint> = {}): Checkpoint => ({
  version: 1,
  fingerprint: 'f1',
  position: { file: 0, offset: 120, line: 12 },
  outputBytes: 500,
  rejectsBytes: 40,
  scored: 11,
  rejected: 1,
  complete: false,
  ...over,
});

const facts = (over: Partial<StartFacts> = {}): StartFacts => ({
  resume: false,
  overwrite: false,
  fingerprint: 'f1',
  checkpoint: undefined,
  outputSize: undefined,
  rejectsSize: undefined,
  outputPath: '/w/out.jsonl',
  rejectsPath: '/w/out.rejects.jsonl',
  ...over,
});

function failure(f: StartFacts): { code: string; exitCode: number; message: string; hint?: string } {
  try {
    planStart(f);
  } catch (e) {
    return e as { code: string; exitCode: number; message: string; hint?: string };
  }
  throw new Error('planStart did not refuse');
}

describe('planStart: how a batch run starts from what is on disk', () => {
  it.each([
    ['nothing there', facts(), 'fresh'],
    ['an output, with --overwrite', facts({ overwrite: true, outputSize: 9, checkpoint: cp() }), 'fresh'],
    ['--resume with nothing there (idempotent scripts)', facts({ resume: true }), 'fresh'],
    ['a checkpoint but no output yet, without --resume', facts({ checkpoint: cp() }), 'fresh'],
    [
      '--resume on an interrupted run',
      facts({ resume: true, checkpoint: cp(), outputSize: 800, rejectsSize: 40 }),
      'resume',
    ],
    [
      '--resume on a finished run',
      facts({ resume: true, checkpoint: cp({ complete: true }), outputSize: 500 }),
      'complete',
    ],
  ])('%s → %s', (_name, f, kind) => {
    expect(planStart(f).kind).toBe(kind);
  });

  it('refuses an existing output without --resume or --overwrite (exit 2), hinting at --resume when it can', () => {
    const plain = failure(facts({ outputSize: 10 }));
    expect(plain).toMatchObject({
      code: 'OUTPUT_EXISTS',
      exitCode: 2,
      message: '/w/out.jsonl already exists',
    });
    expect(plain.hint).toMatch(/--overwrite/);
    expect(failure(facts({ outputSize: 10, checkpoint: cp() })).hint).toMatch(/--resume/);
    expect(failure(facts({ rejectsSize: 3 })).message).toBe('/w/out.rejects.jsonl already exists');
  });

  it.each([
    ['--resume and --overwrite together', facts({ resume: true, overwrite: true }), 'OPTIONS_CONFLICT'],
    ['an output without a checkpoint', facts({ resume: true, outputSize: 10 }), 'CHECKPOINT_MISSING'],
    [
      'another input or model',
      facts({ resume: true, checkpoint: cp({ fingerprint: 'other' }), outputSize: 500 }),
      'CHECKPOINT_MISMATCH',
    ],
    [
      'an output shorter than its checkpoint',
      facts({ resume: true, checkpoint: cp(), outputSize: 499, rejectsSize: 40 }),
      'CHECKPOINT_AHEAD',
    ],
    [
      'a rejects file shorter than its checkpoint',
      facts({ resume: true, checkpoint: cp(), outputSize: 500 }),
      'CHECKPOINT_AHEAD',
    ],
  ])('refuses to resume with %s (exit 2)', (_name, f, code) => {
    expect(failure(f)).toMatchObject({ code, exitCode: 2 });
  });
});

describe('batch helpers', () => {
  it('names the default rejects file after the output', () => {
    expect(defaultRejectsPath('/w/out.jsonl')).toBe('/w/out.rejects.jsonl');
    expect(defaultRejectsPath('/w/scores')).toBe('/w/scores.rejects.jsonl');
  });

  it('estimates the time left from this invocation’s byte rate', () => {
    expect(eta({ bytesDone: 0, bytesAtStart: 0, totalBytes: 100, elapsedMs: 0 })).toBe('--:--');
    expect(eta({ bytesDone: 50, bytesAtStart: 0, totalBytes: 100, elapsedMs: 30_000 })).toBe('0:30');
    // Resumed at 40: 10 bytes in 10 s, 50 to go.
    expect(eta({ bytesDone: 50, bytesAtStart: 40, totalBytes: 100, elapsedMs: 10_000 })).toBe('0:50');
    expect(eta({ bytesDone: 1, bytesAtStart: 0, totalBytes: 3601, elapsedMs: 1000 })).toBe('1:00:00');
  });
});
