import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runModelport } from '../../support/cli.js';
import { writeFixture } from '../../support/onnx/fixtures.js';
import { tempDir } from '../../support/tmp.js';

const work = tempDir('cli');
afterAll(() => work.cleanup());
const home = join(work.path, 'home');
const mp = (args: string[]) => runModelport(args, { MODELPORT_HOME: home });

describe('modelport model (the real binary)', () => {
  it('register → list → show → download → delete, with --json documents and exit 0', async () => {
    const file = await writeFixture('regression10', join(work.path, 'src'));
    const reg = await mp([
      'model',
      'register',
      '--name',
      'ridge',
      '--path',
      file,
      '--tag',
      'stage=dev',
      '--property',
      'alpha=0.1',
      '--json',
    ]);
    expect(reg.code, reg.stderr).toBe(0);
    expect(reg.json()).toMatchObject({
      status: 0,
      result: { name: 'ridge', version: 1, framework: 'onnx', tags: { stage: 'dev' } },
    });

    const human = await mp([
      'model',
      'register',
      '--name',
      'ridge',
      '--path',
      file,
      '--description',
      'second',
    ]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^Registered ridge:2 \(onnx, 1 file\(s\), \d+ B\)/);

    const list = await mp(['model', 'list', '--json']);
    expect(list.json().result.map((m: { version: number }) => m.version)).toEqual([1, 2]);
    const table = await mp(['model', 'list', '--tag', 'stage=dev']);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+VERSION\s+FRAMEWORK/);
    expect(table.stdout.trim().split('\n')).toHaveLength(2);

    const show = await mp(['model', 'show', 'ridge', '--json']);
    expect(show.json().result).toMatchObject({ version: 2, description: 'second' });
    const showText = await mp(['model', 'show', 'ridge:1']);
    expect(showText.stdout).toContain('input  x  float32 [N, 10]');

    const target = join(work.path, 'out');
    const dl = await mp(['model', 'download', 'ridge:1', '--target-dir', target, '--json']);
    expect(dl.code).toBe(0);
    const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
    expect(sha(join(target, 'regression10.onnx'))).toBe(sha(file));

    const del = await mp(['model', 'delete', 'ridge:1', '--json']);
    expect(del.json()).toEqual({
      status: 0,
      result: { name: 'ridge', version: 1, deleted: true },
      warnings: [],
    });
    expect((await mp(['model', 'list', '--json'])).json().result).toHaveLength(1);
  });

  it.each([
    ['a missing path', ['model', 'register', '--name', 'm', '--path', '/no/such/file'], 2, 'PATH_NOT_FOUND'],
    [
      'bad k=v syntax',
      ['model', 'register', '--name', 'm', '--path', '/etc/hostname', '--tag', 'novalue'],
      2,
      'KEY_VALUE_INVALID',
    ],
    ['an unknown model', ['model', 'show', 'ghost'], 3, 'MODEL_NOT_FOUND'],
    ['an unknown version', ['model', 'download', 'ridge:99', '--target-dir', '/tmp/x'], 3, 'MODEL_NOT_FOUND'],
    ['a bad reference', ['model', 'show', 'ridge:abc'], 2, 'MODEL_REF_INVALID'],
    ['delete without a version', ['model', 'delete', 'ridge'], 2, 'VERSION_REQUIRED'],
    [
      'a missing required option',
      ['model', 'register', '--name', 'm'],
      2,
      'commander.missingMandatoryOptionValue',
    ],
    ['an unknown command', ['model', 'frobnicate'], 2, 'commander.unknownCommand'],
  ])('%s: clear error, non-zero exit, registry unchanged', async (_label, args, exitCode, code) => {
    const before = (await mp(['model', 'list', '--json'])).json().result;
    const json = await mp([...args, '--json']);
    expect(json.code).toBe(exitCode);
    expect(json.json()).toMatchObject({ status: exitCode, error: { code } });
    const text = await mp(args);
    expect(text.code).toBe(exitCode);
    expect(text.stderr).toMatch(/^error: /);
    expect(text.stdout).toBe('');
    expect((await mp(['model', 'list', '--json'])).json().result).toEqual(before);
  });

  it('refuses an empty folder and invalid ONNX', async () => {
    const empty = join(work.path, 'empty');
    mkdirSync(empty);
    const bad = join(work.path, 'bad.onnx');
    writeFileSync(bad, 'nope');
    const r1 = await mp(['model', 'register', '--name', 'm', '--path', empty, '--json']);
    expect([r1.code, r1.json().error?.code]).toEqual([2, 'FOLDER_EMPTY']);
    const r2 = await mp(['model', 'register', '--name', 'm', '--path', bad]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/bad.onnx is not a valid ONNX model/);
  });

  it('names an unwritable home and how to fix it', async () => {
    const file = join(work.path, 'not-a-dir');
    writeFileSync(file, '');
    const r = await runModelport(['model', 'list'], { MODELPORT_HOME: join(file, 'home') });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot write to the modelport home/);
    expect(r.stderr).toMatch(/hint: set MODELPORT_HOME/);
  });
});
