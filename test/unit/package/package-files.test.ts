import { closeSync, mkdirSync, openSync, readSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PlacedPackage } from '../../../cloud/package/dependency-closure.js';
import {
  emptyPruneStats,
  nativeKind,
  packageFiles,
  pruneReason,
} from '../../../cloud/package/package-files.js';
import { parsePlatform } from '../../../cloud/package/platform.js';
import { tempDir } from '../../support/tmp.js';

const ORT_LINUX = join(
  import.meta.dirname,
  '..',
  '..',
  '..',
  'node_modules',
  'onnxruntime-node',
  'bin',
  'napi-v6',
  'linux',
);
const amd64 = parsePlatform('linux/amd64');
const arm64 = parsePlatform('linux/arm64');
let work: ReturnType<typeof tempDir> | undefined;
afterEach(() => work?.cleanup());

/** The first 20 bytes of a little-endian 64-bit ELF file for `machine`, padded to `size`. */
function elf(machine: number, size = 64): Buffer {
  const b = Buffer.alloc(size);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = 2; // 64-bit
  b[5] = 1; // little endian
  b.writeUInt16LE(machine, 18);
  return b;
}
const MACH_O = Buffer.from([0xcf, 0xfa, 0xed, 0xfe, 0, 0, 0, 0]);
const PE = Buffer.from('MZ\x90\x00rest-of-dos-header', 'latin1');

function write(root: string, files: Record<string, string | Buffer>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

function placed(source: string, name: string): PlacedPackage {
  return { name, version: '1.0.0', source, target: `node_modules/${name}` };
}

describe('pruneReason', () => {
  it.each([
    ['index.js', undefined],
    ['lib/docs.js', undefined],
    ['LICENSE.md', undefined],
    ['license', undefined],
    ['README.md', 'docs'],
    ['CHANGELOG.markdown', 'docs'],
    ['.eslintrc.json', 'docs'],
    ['index.d.ts', 'types'],
    ['types/index.d.mts', 'types'],
    ['src/index.ts', 'types'],
    ['dist/index.js.map', 'source-maps'],
    ['test/a.test.js', 'tests-and-examples'],
    ['examples/demo.js', 'tests-and-examples'],
    ['docs/guide.html', 'tests-and-examples'],
    ['lib/test/helper.js', undefined],
  ])('%s → %s', (path, reason) => {
    expect(pruneReason('some-package', path, amd64)).toBe(reason);
  });

  it("narrows onnxruntime-node's binaries to the target platform", () => {
    expect(
      pruneReason('onnxruntime-node', 'bin/napi-v6/linux/x64/libonnxruntime.so.1', amd64),
    ).toBeUndefined();
    expect(pruneReason('onnxruntime-node', 'bin/napi-v6/linux/arm64/libonnxruntime.so.1', amd64)).toBe(
      'other-platforms',
    );
    expect(
      pruneReason('onnxruntime-node', 'bin/napi-v6/linux/arm64/onnxruntime_binding.node', arm64),
    ).toBeUndefined();
    expect(pruneReason('onnxruntime-node', 'bin/napi-v6/darwin/arm64/libonnxruntime.dylib', arm64)).toBe(
      'other-platforms',
    );
    expect(pruneReason('onnxruntime-node', 'dist/binding.js', arm64)).toBeUndefined();
  });
});

describe('nativeKind', () => {
  it('reads the CPU of ELF files and recognises other operating systems', () => {
    expect(nativeKind(elf(0x3e))).toEqual({ kind: 'elf', machine: 0x3e });
    expect(nativeKind(elf(0xb7))).toEqual({ kind: 'elf', machine: 0xb7 });
    expect(nativeKind(MACH_O)).toEqual({ kind: 'other-os' });
    expect(nativeKind(PE)).toEqual({ kind: 'other-os' });
    expect(nativeKind(Buffer.from('not a binary at all....'))).toEqual({ kind: 'unknown' });
  });

  it("tells onnxruntime-node's two Linux builds apart", () => {
    const header = (arch: string) => {
      const file = join(ORT_LINUX, arch, 'onnxruntime_binding.node');
      const fd = openSync(file, 'r');
      try {
        const b = Buffer.alloc(20);
        readSync(fd, b, 0, 20, 0);
        return b;
      } finally {
        closeSync(fd);
      }
    };
    expect(nativeKind(header('x64'))).toEqual({ kind: 'elf', machine: 0x3e });
    expect(nativeKind(header('arm64'))).toEqual({ kind: 'elf', machine: 0xb7 });
  });
});

describe('packageFiles', () => {
  it('keeps runtime files and the target CPU only, and counts what it prunes', async () => {
    work = tempDir('pkgfiles');
    const src = join(work.path, 'native-thing');
    write(src, {
      'package.json': '{"name":"native-thing"}',
      'index.js': 'module.exports = 1;',
      'README.md': '# docs',
      'index.d.ts': 'export {};',
      'test/index.test.js': 'test',
      'prebuilds/linux-x64/thing.node': elf(0x3e, 1000),
      'prebuilds/linux-arm64/thing.node': elf(0xb7, 2000),
      'prebuilds/darwin-arm64/thing.node': MACH_O,
      'node_modules/nested/index.js': 'placed separately',
    });
    for (const [platform, kept, foreign] of [
      [amd64, 'prebuilds/linux-x64/thing.node', 2000],
      [arm64, 'prebuilds/linux-arm64/thing.node', 1000],
    ] as const) {
      const stats = emptyPruneStats();
      const files = await packageFiles(placed(src, 'native-thing'), platform, stats);
      expect(files.map((f) => f.target)).toEqual([
        'node_modules/native-thing/index.js',
        'node_modules/native-thing/package.json',
        `node_modules/native-thing/${kept}`,
      ]);
      expect(stats.docs.files).toBe(1);
      expect(stats.types.files).toBe(1);
      expect(stats['tests-and-examples'].files).toBe(1);
      expect(stats['other-platforms']).toEqual({ files: 2, bytes: foreign + MACH_O.length });
    }
  });

  it('refuses a package whose only native code is for another CPU', async () => {
    work = tempDir('pkgfiles');
    const src = join(work.path, 'x64-only');
    write(src, { 'package.json': '{}', 'build/Release/addon.node': elf(0x3e) });
    await expect(packageFiles(placed(src, 'x64-only'), arm64, emptyPruneStats())).rejects.toThrow(
      expect.objectContaining({
        code: 'NATIVE_CODE_PLATFORM_MISMATCH',
        message: expect.stringContaining('node_modules/x64-only/build/Release/addon.node'),
      }),
    );
    expect((await packageFiles(placed(src, 'x64-only'), amd64, emptyPruneStats())).length).toBe(2);
  });
});
