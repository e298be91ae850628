/**
 * The continuous watch loop in-process, on a real registry database, a real manifest file and the real
 * generator: a model version registered by the real CLI (another process) while a cycle is in its
 * slow step is deployed by a later cycle, not lost.
 *
 * Why the registration lands in the generate step and not in the gate: after gate verdicts the cycle
 * plans again from a fresh registry snapshot, so a version registered while the gate runs is picked up
 * by the same cycle. What the change token must not miss is a commit after the cycle's last snapshot —
 * in production the package step (docker build and push, minutes); here the generate step, which the
 * test holds until the CLI has registered the new version.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CycleDeps,
  cycleSettings,
  localEffects,
  ManifestFileTarget,
  specReader,
  type WatchEvent,
  WatchState,
  watchEvents,
  watchLoop,
} from '../../../cloud/watch/index.js';
import { silentLogger } from '../../../common/logger.js';
import { parseDeploymentSpec } from '../../../manifests/index.js';
import { tempDir } from '../../support/tmp.js';
import { expectOk, manifestModule, registerVersion } from './helpers.js';

const tmp = tempDir('watch-loop');
const home = join(tmp.path, 'home');

beforeAll(async () => {
  expectOk(await registerVersion(home, 'regression', 1));
});

afterAll(() => tmp.cleanup());

describe('watchLoop', () => {
  it('deploys a version registered while a cycle was running', async () => {
    const specPath = join(tmp.path, 'fleet.yaml');
    writeFileSync(
      specPath,
      [
        'name: fleet',
        'modules:',
        '  scorer:',
        '    image: registry.test/scoring:fixed',
        '    models: ["regression:latest"]',
        '',
      ].join('\n'),
    );
    const out = join(tmp.path, 'deployment.json');
    const seen: WatchEvent[] = [];
    const stop = new AbortController();
    const state = WatchState.open(home);
    const effects = localEffects({ home, env: {}, specPath, logger: silentLogger() });
    let generated = 0;
    const deps: CycleDeps = {
      specPath,
      readSpec: specReader(specPath, parseDeploymentSpec),
      settingsFor: (spec) => cycleSettings({}, spec, specPath, tmp.path),
      state,
      target: new ManifestFileTarget(out),
      effects: {
        ...effects,
        generate: async (rollout) => {
          // The first cycle's slow step: another process registers version 2 meanwhile.
          if (++generated === 1) expectOk(await registerVersion(home, 'regression', 2));
          return effects.generate(rollout);
        },
      },
      events: watchEvents((e) => {
        seen.push(e);
        const models = JSON.stringify(e['models'] ?? '');
        if (e.event === 'deployed' && models.includes('regression:2')) stop.abort();
        if (e.event === 'step-failed') stop.abort();
      }),
    };
    try {
      const summary = await watchLoop(deps, { intervalMs: 50 }, stop.signal);
      expect(seen.filter((e) => e.event === 'step-failed')).toEqual([]);
      expect(
        seen.filter((e) => e.event === 'deployed').map((e) => (e['models'] as { model: string }[])[0]?.model),
      ).toEqual(['regression:1', 'regression:2']);
      expect(summary.rollouts).toBe(2);
      expect(manifestModule(out, 'scorer').env['AZUREML_MODEL_DIR']).toMatch(/\/regression\/2$/);
    } finally {
      state.close();
    }
  });
});
