import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../common/canonical-json.js';
import { modelDigest } from '../../../common/model-digest.js';
import {
  digestFolder,
  EXIT_MODEL_INTEGRITY,
  expectedModelsFromEnv,
  expectedModelsFromTwin,
  isModelIntegrityError,
  verifyModelIntegrity,
} from '../../../modules/scoring/integrity.js';
import { tempDir } from '../../support/tmp.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir('integrity');
});
afterEach(() => tmp.cleanup());

/** Lays a model out as the registry materializes it: `<root>/<name>/<version>/<paths>`. */
function layout(name: string, version: string, files: Record<string, string>): string {
  const dir = join(tmp.path, name, version);
  mkdirSync(dir, { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, ...path.split('/').slice(0, -1)), { recursive: true });
    writeFileSync(join(dir, ...path.split('/')), content);
  }
  return dir;
}

/** The digest the registry computes for these files (paths as it stores them). */
const registryDigest = (files: Record<string, string>) =>
  modelDigest(
    Object.entries(files).map(([path, c]) => ({ path, sha256: sha256Hex(c), size: Buffer.byteLength(c) })),
  );

describe('verifyModelIntegrity', () => {
  const files = { 'mnist/model.onnx': 'weights-v1', 'mnist/labels.txt': 'zero\none\n' };

  it("accepts files whose digest is the registry's (paths relative to the model folder, '/'-separated)", async () => {
    const dir = layout('mnist', '3', files);
    const verified = await verifyModelIntegrity(
      [{ name: 'mnist', version: '3', dir }],
      [{ name: 'mnist', version: 3, digest: registryDigest(files) }],
    );
    expect(verified).toEqual([{ name: 'mnist', version: '3', digest: registryDigest(files), files: 2 }]);
  });

  it('rejects a changed file, naming the model, both digests and the file', async () => {
    const dir = layout('mnist', '3', { ...files, 'mnist/model.onnx': 'weights-tampered' });
    const expected = registryDigest(files);
    const err = await verifyModelIntegrity(
      [{ name: 'mnist', version: '3', dir }],
      [
        {
          name: 'mnist',
          version: '3',
          digest: expected,
          files: [
            { path: 'mnist/model.onnx', sha256: sha256Hex('weights-v1') },
            { path: 'mnist/labels.txt', sha256: sha256Hex('zero\none\n') },
          ],
        },
      ],
    ).catch((e: unknown) => e);
    expect(isModelIntegrityError(err)).toBe(true);
    const e = err as Error & { code: string; exitCode: number; details: Record<string, unknown> };
    expect(e.code).toBe('MODEL_INTEGRITY_MISMATCH');
    expect(e.exitCode).toBe(EXIT_MODEL_INTEGRITY);
    expect(e.message).toMatch(
      /^model integrity check failed: model 'mnist' version 3: expected sha256:[0-9a-f]{64}, found sha256:[0-9a-f]{64}/,
    );
    expect(e.message).toContain('mnist/model.onnx (sha256 differs)');
    expect(e.details['expected']).toBe(expected);
  });

  it('rejects an extra file (the digest covers every file in the folder)', async () => {
    const dir = layout('mnist', '3', { ...files, 'mnist/extra.bin': 'x' });
    await expect(
      verifyModelIntegrity(
        [{ name: 'mnist', version: '3', dir }],
        [{ name: 'mnist', version: '3', digest: registryDigest(files) }],
      ),
    ).rejects.toThrow(/model integrity check failed/);
  });

  it('rejects an expected model that is not served', async () => {
    await expect(
      verifyModelIntegrity([], [{ name: 'mnist', version: '4', digest: registryDigest(files) }]),
    ).rejects.toThrow("model integrity check failed: model 'mnist' version 4 is expected but not served");
  });

  it('follows links to files, as the registry does', async () => {
    const dir = layout('ridge', '1', {});
    writeFileSync(join(tmp.path, 'real.onnx'), 'w');
    symlinkSync(join(tmp.path, 'real.onnx'), join(dir, 'model.onnx'));
    expect((await digestFolder(dir)).digest).toBe(registryDigest({ 'model.onnx': 'w' }));
  });
});

describe('expected models', () => {
  const digest = `sha256:${'a'.repeat(64)}`;

  it('reads MODELPORT_EXPECTED_MODELS', () => {
    expect(expectedModelsFromEnv({})).toBeUndefined();
    expect(
      expectedModelsFromEnv({
        MODELPORT_EXPECTED_MODELS: JSON.stringify([{ name: 'm', version: 1, digest }]),
      }),
    ).toEqual([{ name: 'm', version: 1, digest }]);
    expect(() =>
      expectedModelsFromEnv({ MODELPORT_EXPECTED_MODELS: '[{"name":"m","version":1,"digest":"md5:x"}]' }),
    ).toThrow(
      'MODELPORT_EXPECTED_MODELS: MODELPORT_EXPECTED_MODELS[0].digest must be sha256:<64 hex digits>',
    );
  });

  it("reads the module twin's desired models, with per-file hashes", () => {
    const files = [{ path: 'model.onnx', sha256: 'b'.repeat(64) }];
    expect(expectedModelsFromTwin({ models: [{ name: 'm', version: 2, digest, files }] })).toEqual([
      { name: 'm', version: 2, digest, files },
    ]);
    expect(expectedModelsFromTwin({ collect: true })).toBeUndefined();
  });
});
