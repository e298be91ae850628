/** The packaged_images table (registry migration 2) on a real SQLite file. */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { REGISTRY_MIGRATIONS } from '../../../cloud/registry/migrations.js';
import { PackagedImages } from '../../../cloud/registry/packaged-images.js';
import { ModelRegistry } from '../../../cloud/registry/registry.js';
import { isModelportError } from '../../../common/errors.js';
import { writeFixture } from '../../support/onnx/fixtures.js';
import { tempDir } from '../../support/tmp.js';

const work = tempDir('packaged-images');
afterAll(() => work.cleanup());

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const a1 = { name: 'a', version: 1, digest: digest('1') };
const b2 = { name: 'b', version: 2, digest: digest('2') };

describe('PackagedImages', () => {
  it('finds images packaged for exactly a set of model versions, newest first, one per image and platform', () => {
    let tick = 0;
    const store = PackagedImages.open(join(work.path, 'home-a'), {
      now: () => new Date(Date.UTC(2026, 0, 1, 0, 0, tick++)),
    });
    try {
      store.record({ image: 'reg/a:1', platform: 'linux/amd64', models: [a1] });
      store.record({ image: 'reg/ab:1', platform: 'linux/amd64', models: [b2, a1] });
      store.record({ image: 'reg/ab:1', platform: 'linux/arm64', digest: digest('f'), models: [a1, b2] });
      store.record({ image: 'reg/ab:1', platform: 'linux/amd64', models: [a1, b2] }); // rebuilt
      const ab = store.findForModels([
        { name: 'b', version: 2 },
        { name: 'a', version: 1 },
      ]);
      expect(ab.map((i) => `${i.image} ${i.platform}`)).toEqual([
        'reg/ab:1 linux/amd64',
        'reg/ab:1 linux/arm64',
      ]);
      expect(ab[0]?.models).toEqual([a1, b2]);
      expect(ab[1]?.digest).toBe(digest('f'));
      expect(store.findForModels([{ name: 'a', version: 1 }]).map((i) => i.image)).toEqual(['reg/a:1']);
      expect(store.findForModels([{ name: 'a', version: 2 }])).toEqual([]);
      expect(store.findByImage('reg/ab:1')).toHaveLength(3);
    } finally {
      store.close();
    }
  });

  it('adds its table to an existing registry, and the registry keeps working beside it', async () => {
    const home = join(work.path, 'home-b');
    const registry = ModelRegistry.open(home);
    const model = await registry.register({
      name: 'ridge',
      path: await writeFixture('regression10', join(work.path, 'src')),
    });
    const store = PackagedImages.open(home);
    try {
      store.record({
        image: 'reg/ridge:1',
        platform: 'linux/arm64',
        models: [{ name: 'ridge', version: 1, digest: model.digest }],
      });
      expect(registry.get({ name: 'ridge', version: 1 }).digest).toBe(model.digest);
    } finally {
      store.close();
      registry.close();
    }
    const db = new Database(join(home, 'registry.db'), { readonly: true });
    try {
      // Every registry migration ran (packaged_images is the second; later ones add their own tables).
      expect(db.pragma('user_version', { simple: true })).toBe(REGISTRY_MIGRATIONS.length);
      expect(REGISTRY_MIGRATIONS.length).toBeGreaterThanOrEqual(2);
      expect(db.prepare('SELECT image, platform FROM packaged_images').all()).toEqual([
        { image: 'reg/ridge:1', platform: 'linux/arm64' },
      ]);
    } finally {
      db.close();
    }
  });

  it.each([
    [{ image: 'reg/x:1', platform: 'linux/amd64', models: [] }, 'at least one model'],
    [{ image: 'reg x', platform: 'linux/amd64', models: [a1] }, 'whitespace'],
    [{ image: 'reg/x:1', platform: 'amd64', models: [a1] }, 'os/arch'],
    [{ image: 'reg/x:1', platform: 'linux/amd64', models: [a1, a1] }, 'listed twice'],
    [{ image: 'reg/x:1', platform: 'linux/amd64', models: [{ ...a1, version: 0 }] }, 'positive integers'],
    [{ image: 'reg/x:1', platform: 'linux/amd64', digest: 'abc', models: [a1] }, 'sha256:<64 hex digits>'],
  ])('refuses to record %j', (entry, message) => {
    const store = PackagedImages.open(join(work.path, 'home-c'));
    try {
      store.record(entry);
      expect.fail('expected a usage error');
    } catch (e) {
      if (!isModelportError(e)) throw e;
      expect(e.code).toBe('PACKAGED_IMAGE_INVALID');
      expect(e.message).toContain(message);
    } finally {
      store.close();
    }
    const check = PackagedImages.open(join(work.path, 'home-c'));
    expect(check.findByImage('reg/x:1')).toEqual([]);
    check.close();
  });
});
