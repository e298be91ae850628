import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseModelRef } from '../../../cloud/registry/model-ref.js';
import { ModelRegistry } from '../../../cloud/registry/registry.js';
import { writeFixture } from '../../support/onnx/fixtures.js';
import { tempDir } from '../../support/tmp.js';

const work = tempDir('registry');
afterAll(() => work.cleanup());

let home: string;
let registry: ModelRegistry;
let n = 0;
beforeEach(() => {
  home = join(work.path, `home-${++n}`);
  registry = ModelRegistry.open(home);
});
afterEach(() => registry.close());

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const blobCount = () =>
  readdirSync(join(home, 'blobs', 'sha256'), { recursive: true }).filter((p) => String(p).length > 60).length;

describe('model registry', () => {
  it('registers a file with ONNX metadata, per-file sha256 and a digest', async () => {
    const file = await writeFixture('regression10', join(work.path, 'src'));
    const model = await registry.register({
      name: 'ridge',
      path: file,
      tags: { area: 'iot' },
      properties: { mse: '0.12' },
      description: 'guide model',
    });
    expect(model).toMatchObject({
      name: 'ridge',
      version: 1,
      framework: 'onnx',
      tags: { area: 'iot' },
      properties: { mse: '0.12' },
    });
    expect(model.files).toEqual([
      { path: 'regression10.onnx', sha256: sha(file), size: readFileSync(file).length },
    ]);
    expect(model.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(model.onnx?.inputs).toEqual([{ name: 'x', elementType: 'float32', shape: ['N', 10] }]);
    expect(model.onnx?.outputs).toEqual([{ name: 'y', elementType: 'float32', shape: ['N', 1] }]);
    expect(model.onnx?.opsets[0]?.version).toBe(17);
    expect(registry.get(parseModelRef('ridge:1'))).toEqual(model);
  });

  it('registers a folder as one model and auto-increments the version per name', async () => {
    const folder = join(work.path, 'folder-model');
    mkdirSync(join(folder, 'extra'), { recursive: true });
    await writeFixture('mnist_mlp', folder);
    writeFileSync(join(folder, 'extra', 'labels.txt'), 'zero\none\n');
    const v1 = await registry.register({ name: 'digits', path: folder });
    const v2 = await registry.register({ name: 'digits', path: folder });
    const other = await registry.register({ name: 'other', path: folder });
    expect([v1.version, v2.version, other.version]).toEqual([1, 2, 1]);
    expect(v1.files.map((f) => f.path)).toEqual([
      'folder-model/extra/labels.txt',
      'folder-model/mnist_mlp.onnx',
    ]);
    expect(v1.onnx?.file).toBe('folder-model/mnist_mlp.onnx');
    expect(v2.digest).toBe(v1.digest);
    expect(blobCount()).toBe(2); // identical content is stored once
    expect(registry.get(parseModelRef('digits')).version).toBe(2);
  });

  it('lists by name and by tag', async () => {
    const file = await writeFixture('regression10', join(work.path, 'src'));
    await registry.register({ name: 'a', path: file, tags: { stage: 'prod' } });
    await registry.register({ name: 'a', path: file, tags: { stage: 'dev' } });
    await registry.register({ name: 'b', path: file, tags: { stage: 'prod', team: 'x' } });
    expect(registry.list().map((m) => `${m.name}:${m.version}`)).toEqual(['a:1', 'a:2', 'b:1']);
    expect(registry.list({ name: 'a' }).map((m) => m.version)).toEqual([1, 2]);
    expect(registry.list({ tags: { stage: 'prod' } }).map((m) => m.name)).toEqual(['a', 'b']);
    expect(registry.list({ tags: { team: '*' } }).map((m) => m.name)).toEqual(['b']);
    expect(registry.list({ tags: { stage: 'prod', team: 'x' } }).map((m) => m.name)).toEqual(['b']);
  });

  it('downloads byte-identical files', async () => {
    const file = await writeFixture('cnn_small', join(work.path, 'src'));
    await registry.register({ name: 'cnn', path: file });
    const target = join(work.path, `download-${n}`);
    const { paths } = await registry.download(parseModelRef('cnn:1'), target);
    expect(paths).toEqual([join(target, 'cnn_small.onnx')]);
    expect(sha(paths[0] as string)).toBe(sha(file));
  });

  it('download fails when a blob was corrupted on disk', async () => {
    const file = await writeFixture('regression10', join(work.path, 'src'));
    const model = await registry.register({ name: 'r', path: file });
    writeFileSync(registry.blobPath(model.files[0]!), 'flipped bits');
    await expect(registry.download(parseModelRef('r:1'), join(work.path, `bad-${n}`))).rejects.toMatchObject({
      code: 'BLOB_CORRUPT',
    });
  });

  it('deletes a version and its blobs unless another version shares them; versions are never reused', async () => {
    const file = await writeFixture('regression10', join(work.path, 'src'));
    await registry.register({ name: 'r', path: file });
    await registry.register({ name: 'r', path: file });
    registry.delete(parseModelRef('r:1'));
    expect(blobCount()).toBe(1);
    registry.delete(parseModelRef('r:2'));
    expect(blobCount()).toBe(0);
    expect((await registry.register({ name: 'r', path: file })).version).toBe(3);
  });

  it.each([
    ['a missing path', { path: '/definitely/not/here' }, 'PATH_NOT_FOUND'],
    ['an empty folder', { path: 'EMPTY' }, 'FOLDER_EMPTY'],
    ['invalid ONNX with --framework onnx', { path: 'TEXT', framework: 'onnx' }, 'ONNX_INVALID'],
    ['a .onnx file that is not ONNX', { path: 'BADONNX' }, 'ONNX_INVALID'],
    ['a bad name', { path: 'TEXT', name: '../escape' }, 'MODEL_NAME_INVALID'],
  ])('refuses %s and stores nothing', async (_label, request, code) => {
    const empty = join(work.path, `empty-${n}`);
    mkdirSync(empty);
    const text = join(work.path, `notes-${n}.txt`);
    writeFileSync(text, 'hello');
    const badOnnx = join(work.path, `bad-${n}.onnx`);
    writeFileSync(badOnnx, 'not protobuf at all');
    const paths: Record<string, string> = { EMPTY: empty, TEXT: text, BADONNX: badOnnx };
    const path = paths[request.path] ?? request.path;
    await expect(registry.register({ name: 'm', ...request, path })).rejects.toMatchObject({ code });
    expect(registry.list()).toEqual([]);
  });

  it('registers a non-ONNX file as a custom model', async () => {
    const text = join(work.path, `weights-${n}.pkl`);
    writeFileSync(text, 'pickle bytes');
    const model = await registry.register({ name: 'sk', path: text });
    expect(model.framework).toBe('custom');
    expect(model.onnx).toBeNull();
  });

  it('names unknown models and versions', () => {
    expect(() => registry.get(parseModelRef('nope'))).toThrow(/no model named 'nope'/);
    return registry.register({ name: 'x', path: __filename }).then(() => {
      expect(() => registry.get(parseModelRef('x:9'))).toThrow(/x:9 is not registered \(versions: 1\)/);
    });
  });

  it('refuses a home it cannot write to', () => {
    const file = join(work.path, 'plain-file');
    writeFileSync(file, '');
    expect(() => ModelRegistry.open(join(file, 'home'))).toThrow(
      expect.objectContaining({ code: 'HOME_NOT_WRITABLE' }),
    );
  });
});

describe('registry under concurrency and crashes', () => {
  const registerInChild = (childHome: string, path: string) =>
    spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'register-child.ts'), childHome, path], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });

  const finish = (child: ReturnType<typeof registerInChild>) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      let out = '';
      let err = '';
      child.stdout?.on('data', (d) => (out += d));
      child.stderr?.on('data', (d) => (err += d));
      child.on('exit', (code) => resolve({ code, out, err }));
    });

  it('gives distinct versions to registers of one name in parallel processes', async () => {
    const file = await writeFixture('mnist_mlp', join(work.path, 'src'));
    const results = await Promise.all(Array.from({ length: 4 }, () => finish(registerInChild(home, file))));
    for (const r of results) expect(r.code, r.err).toBe(0);
    expect(results.map((r) => Number(r.out.trim())).sort()).toEqual([1, 2, 3, 4]);
    expect(registry.list().map((m) => m.version)).toEqual([1, 2, 3, 4]);
  });

  it('a register killed mid-way leaves no half-registered version', async () => {
    const big = join(work.path, 'big.bin');
    writeFileSync(big, Buffer.alloc(256 * 1024 * 1024, 7));
    const child = registerInChild(home, big);
    const done = finish(child);
    // Kill once the child is inside register(): copying and hashing 256 MiB takes far longer than this.
    await new Promise<void>((resolve) =>
      child.stderr?.on('data', (d) => String(d).includes('registering') && resolve()),
    );
    await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGKILL');
    const result = await done;
    expect(result.code).toBeNull();
    expect(result.out).toBe('');
    expect(registry.list()).toEqual([]);
    const small = await writeFixture('regression10', join(work.path, 'src'));
    expect((await registry.register({ name: 'concurrent', path: small })).version).toBe(1);
  });
});
