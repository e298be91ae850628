import { describe, expect, it } from 'vitest';
import { parseImageRef } from '../../../cloud/package/image-ref.js';
import {
  deploymentIdFor,
  deploymentStem,
  imageTagFor,
  nextPriority,
  retryDelayMs,
} from '../../../cloud/watch/naming.js';
import { cycleSettings, hubRollout } from '../../../cloud/watch/settings.js';
import { isModelportError } from '../../../common/errors.js';
import { parseDeploymentSpec } from '../../../manifests/index.js';

const m = (name: string, version: number) => ({ name, version, digest: `sha256:${'a'.repeat(64)}` });

describe('imageTagFor', () => {
  it.each([
    [[m('regression10', 3)], 'linux/amd64', 'regression10-v3'],
    [[m('b', 2), m('a', 1)], 'linux/amd64', 'a-v1.b-v2'],
    [[m('reg.v2_x', 12)], 'linux/arm64', 'reg.v2_x-v12-arm64'],
  ])('%j on %s → %s, a valid tag', (models, platform, tag) => {
    expect(imageTagFor(models, platform)).toBe(tag);
    expect(parseImageRef(`registry.test/scoring:${tag}`).tag).toBe(tag);
  });

  it('hashes a tag that would be longer than 128 characters, the same way each time', () => {
    const many = Array.from({ length: 12 }, (_, i) => m(`model-number-${i}`, i + 1));
    const tag = imageTagFor(many, 'linux/amd64');
    expect(tag).toMatch(/^models-[0-9a-f]{16}$/);
    expect(imageTagFor([...many].reverse(), 'linux/amd64')).toBe(tag);
  });
});

describe('IoT Hub deployment names and priorities', () => {
  it.each([
    ['regression-scoring', 'regression-scoring'],
    ['Edge.Fleet_EU', 'edge-fleet-eu'],
    ['...', 'modelport'],
  ])('stem of %s is %s', (name, stem) => {
    expect(deploymentStem(name)).toBe(stem);
  });

  it('names each rollout after the stem and its key', () => {
    expect(deploymentIdFor('fleet', 'abcdef0123456789ffff')).toBe('fleet-abcdef012345');
  });

  it.each([
    ['the first rollout gets the base', [], 'r1', 10, 10],
    ['the next one goes above the others', [{ id: 'r1', priority: 10 }], 'r2', 10, 11],
    ['above a base raised meanwhile', [{ id: 'r1', priority: 3 }], 'r2', 10, 10],
    [
      'one that already wins keeps its priority',
      [
        { id: 'r1', priority: 10 },
        { id: 'r2', priority: 11 },
      ],
      'r2',
      10,
      11,
    ],
    [
      'one that lost (re-applied after a rollback) goes on top',
      [
        { id: 'r1', priority: 12 },
        { id: 'r2', priority: 11 },
      ],
      'r2',
      10,
      13,
    ],
  ])('%s', (_why, ours, id, base, priority) => {
    expect(nextPriority(ours, id, base)).toBe(priority);
  });

  it.each([
    [1, 2_000],
    [2, 4_000],
    [5, 32_000],
    [20, 300_000],
  ])('retry %i waits %i ms (capped)', (failures, ms) => {
    expect(retryDelayMs(failures, 2_000, 300_000)).toBe(ms);
  });
});

describe('watch settings: flags > the spec rollout section > defaults', () => {
  const spec = parseDeploymentSpec(`
name: Fleet.EU
modules:
  scorer: {models: ["reg:latest"]}
rollout:
  imageRepository: registry.test/scoring
  platform: linux/arm64
  gate: gates/accuracy.sh
  targetCondition: "tags.env='prod'"
  priority: 40
`);

  it('takes the spec, with the gate relative to the spec file', () => {
    const s = cycleSettings({}, spec, '/specs/fleet.yaml', '/cwd');
    expect(s.packaging).toEqual({
      repository: 'registry.test/scoring',
      platform: 'linux/arm64',
      baseImage: 'node:20-bookworm-slim',
    });
    expect(s.gate).toEqual({ script: '/specs/gates/accuracy.sh', timeoutMs: 600_000 });
    expect(hubRollout({}, spec, '/specs/fleet.yaml')).toEqual({
      stem: 'fleet-eu',
      targetCondition: "tags.env='prod'",
      basePriority: 40,
      layered: false,
      removePrevious: false,
    });
  });

  it('lets flags win, with the gate relative to the working folder', () => {
    const s = cycleSettings(
      { imageRepo: 'other/repo', platform: 'amd64', gate: 'g.sh', gateTimeout: '5', baseImage: 'base:1' },
      spec,
      '/specs/fleet.yaml',
      '/cwd',
    );
    expect(s.packaging).toEqual({ repository: 'other/repo', platform: 'linux/amd64', baseImage: 'base:1' });
    expect(s.gate).toEqual({ script: '/cwd/g.sh', timeoutMs: 5_000 });
    expect(hubRollout({ priority: '3', layered: true, removePrevious: true }, spec, '/s.yaml')).toMatchObject(
      {
        basePriority: 3,
        layered: true,
        removePrevious: true,
      },
    );
  });

  it.each([
    [
      () => hubRollout({}, parseDeploymentSpec('modules:\n  scorer: {image: a/b:1}\n'), '/x.yaml'),
      'TARGET_CONDITION_MISSING',
    ],
    [() => hubRollout({ priority: '-1' }, spec, '/x.yaml'), 'PRIORITY_INVALID'],
    [() => cycleSettings({ imageRepo: 'repo:tag:' }, spec, '/x.yaml', '/'), 'IMAGE_REPO_INVALID'],
    [() => cycleSettings({ gateTimeout: '0' }, spec, '/x.yaml', '/'), 'NUMBER_INVALID'],
    [() => cycleSettings({ platform: 'linux/riscv64' }, spec, '/x.yaml', '/'), 'PLATFORM_UNSUPPORTED'],
  ])('refuses bad settings with a usage error (%#)', (resolve, code) => {
    let error: unknown;
    try {
      resolve();
    } catch (e) {
      error = e;
    }
    expect(isModelportError(error) && [error.code, error.exitCode]).toEqual([code, 2]);
  });

  it('names the hub deployments after the spec file when the spec has no name', () => {
    const unnamed = parseDeploymentSpec(
      'modules:\n  scorer: {image: a/b:1}\nrollout: {targetCondition: "tags.x=\'1\'"}\n',
    );
    expect(hubRollout({}, unnamed, '/specs/Edge Scoring.yaml').stem).toBe('edge-scoring');
  });
});
