import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveInput } from '../../../cloud/batch/input-files.js';
import { layoutFor } from '../../../cloud/batch/input-layout.js';
import { readLines } from '../../../cloud/batch/line-reader.js';
import { type Position, readUnits, START } from '../../../cloud/batch/record-source.js';
import { tempDir } from '../../support/tmp.js';
import { float32Bytes, npyBytes } from '../../unit/batch/npy-bytes.js';
import { rows, seeded } from './helpers.js';

const work = tempDir('record-source');
const file = (name: string) => join(work.path, name);
afterAll(() => work.cleanup());

const { layout } = layoutFor(
  { name: 'regression10', inputs: [{ name: 'x', elementType: 'float32', shape: ['N', 10] }], outputs: [] },
  8,
);

describe('readLines', () => {
  it('splits lines across chunk boundaries, grows for long lines, keeps resume offsets exact', () => {
    const lines = ['a', '', 'bcdefghijklmnopqrstuvwxyz-longer-than-a-chunk', 'x\r', 'last without newline'];
    const text = lines.join('\n');
    writeFileSync(file('lines.txt'), text);
    for (const chunk of [1, 3, 7, 64]) {
      const seen: { text: string; next: number }[] = [];
      for (const batch of readLines(file('lines.txt'), 0, chunk)) {
        for (const l of batch) seen.push({ text: l.bytes.toString('utf8', l.start, l.end), next: l.next });
      }
      expect(seen.map((s) => s.text)).toEqual(lines);
      // Reading again from any line's `next` yields exactly the lines after it.
      seen.forEach((s, i) => {
        const rest: string[] = [];
        for (const batch of readLines(file('lines.txt'), s.next, chunk)) {
          for (const l of batch) rest.push(l.bytes.toString('utf8', l.start, l.end));
        }
        expect(rest).toEqual(lines.slice(i + 1));
      });
    }
  });
});

/** Every record's line and first value, reading from `from`; plus every unit's end position. */
async function readAll(input: string, from: Position) {
  const { set } = await resolveInput(input, undefined, []);
  const records: string[] = [];
  const ends: Position[] = [];
  /** Records cut so far at each unit's end. */
  const cut: number[] = [];
  for await (const unit of readUnits(set, layout, from)) {
    const x = unit.batch?.inputs.x?.data as Float32Array | undefined;
    const unitRecords = [
      ...(unit.batch?.records ?? []).map((r, i) => ({
        ...r,
        text: `${r.file ?? ''}:${r.line}=${x?.[i * 10]}`,
      })),
      ...unit.rejects.map((r) => ({ ...r, text: `${r.file ?? ''}:${r.line}!` })),
    ].sort((a, b) => (a.file ?? '').localeCompare(b.file ?? '') || a.line - b.line);
    records.push(...unitRecords.map((r) => r.text));
    ends.push(unit.end);
    cut.push(records.length);
  }
  return { records, ends, cut };
}

describe('readUnits', () => {
  const data = rows(50, 10, seeded(1));
  const jsonl = data.map((r, i) => (i % 9 === 4 ? '[1, 2]' : JSON.stringify(r))).join('\n');
  const csv = `${Array.from({ length: 10 }, (_, i) => `c${i}`).join(',')}\n${data.map((r) => r.join(',')).join('\n')}\n`;

  it.each([
    ['JSON lines', 'records.jsonl', jsonl],
    ['CSV with a header', 'records.csv', csv],
    ['npy', 'records.npy', npyBytes('<f4', [50, 10], float32Bytes(data.flat()))],
  ])('resumes %s from any unit boundary with exactly the records after it', async (_kind, name, content) => {
    writeFileSync(file(name), content);
    const whole = await readAll(file(name), START);
    expect(whole.records.filter((r) => !r.endsWith('!'))).toHaveLength(name.endsWith('jsonl') ? 44 : 50);
    expect(whole.ends.length).toBeGreaterThan(3);
    for (const [k, end] of whole.ends.entries()) {
      // Resuming at a unit's end reads exactly the records no earlier unit holds.
      expect((await readAll(file(name), end)).records).toEqual(whole.records.slice(whole.cut[k]));
    }
  });

  it('continues line numbers per file across a folder and resumes inside a later file', async () => {
    const dir = file('parts');
    (await import('node:fs')).mkdirSync(dir);
    writeFileSync(
      join(dir, '1.jsonl'),
      data
        .slice(0, 5)
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    writeFileSync(
      join(dir, '2.jsonl'),
      data
        .slice(5, 20)
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const whole = await readAll(dir, START);
    expect(whole.records.map((r) => r.split('=')[0])).toEqual([
      ...Array.from({ length: 5 }, (_, i) => `1.jsonl:${i + 1}`),
      ...Array.from({ length: 15 }, (_, i) => `2.jsonl:${i + 1}`),
    ]);
    // Units span files: the first unit (8 records) ends inside 2.jsonl.
    expect(whole.ends[0]).toMatchObject({ file: 1, line: 3 });
    expect((await readAll(dir, whole.ends[0] as Position)).records).toEqual(whole.records.slice(8));
  });
});
