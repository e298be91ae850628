import { describe, expect, it } from 'vitest';
import { planRollout } from '../../../cloud/watch/plan.js';
import type {
  GateDecision,
  ModelVersion,
  PackagedImageFacts,
  RolloutInput,
  RolloutRecord,
  RolloutStep,
} from '../../../cloud/watch/types.js';
import type { DeploymentSpec } from '../../../manifests/index.js';
import { parseDeploymentSpec } from '../../../manifests/index.js';

const REPO = 'registry.test/scoring';
const digest = (name: string, version: number) => `sha256:${`${name}${version}`.padEnd(64, '0')}`;
const v = (name: string, version: number): ModelVersion => ({ name, version, digest: digest(name, version) });

const SPEC = parseDeploymentSpec(`
name: fleet
modules:
  scorer:
    models: ["reg:latest"]
  pinned:
    models: ["other:1"]
`);

function input(
  overrides: Partial<RolloutInput> = {},
  versions: ModelVersion[] = [v('reg', 1), v('other', 1)],
) {
  const byName = new Map<string, ModelVersion[]>();
  for (const m of versions) byName.set(m.name, [...(byName.get(m.name) ?? []), m]);
  return {
    spec: SPEC,
    registry: { versions: byName, packaged: [] },
    gate: { enabled: false, decisions: new Map() },
    deployed: undefined,
    drifted: false,
    target: { kind: 'file', key: 'file:/tmp/m.json' },
    packaging: { repository: REPO, platform: 'linux/amd64', baseImage: 'node:20' },
    ...overrides,
  } satisfies RolloutInput;
}

const ids = (steps: RolloutStep[]) => steps.map((s) => s.id);

/** What the target holds after `plan` was applied. */
function deployedFrom(i: RolloutInput): RolloutRecord {
  const p = planRollout(i);
  if (!p.rollout) throw new Error('no rollout');
  return {
    target: i.target.key,
    key: p.rollout.key,
    specPath: '/spec.yaml',
    specHash: 'h',
    models: p.rollout.models,
    images: p.rollout.images,
    appliedAt: '2030-01-01T00:00:00Z',
  };
}

const pushed = (image: string, models: ModelVersion[], platform = 'linux/amd64'): PackagedImageFacts => ({
  image,
  digest: `sha256:${'f'.repeat(64)}`,
  platform,
  models,
});

const decision = (
  m: ModelVersion,
  accepted: boolean,
  detail = accepted ? 'ok' : 'too slow',
): GateDecision => ({
  ...m,
  accepted,
  detail,
  decidedAt: '2030-01-01T00:00:00Z',
});

describe('planRollout: resolving the spec', () => {
  it('follows name:latest, keeps name:N, and derives the image tags from the versions', () => {
    const p = planRollout(input({}, [v('reg', 1), v('reg', 2), v('other', 1), v('other', 2)]));
    expect(p.status).toBe('rollout');
    expect(p.rollout?.models).toEqual([
      { module: 'scorer', ...v('reg', 2) },
      { module: 'pinned', ...v('other', 1) },
    ]);
    expect(p.rollout?.images).toEqual({ scorer: `${REPO}:reg-v2`, pinned: `${REPO}:other-v1` });
    expect(p.rollout?.spec.modules['scorer']).toMatchObject({ models: ['reg:2'], image: `${REPO}:reg-v2` });
    expect(ids(p.steps)).toEqual([
      `package:${REPO}:reg-v2`,
      `package:${REPO}:other-v1`,
      `generate:${p.rollout?.key.slice(0, 12)}`,
      `apply:${p.rollout?.key.slice(0, 12)}`,
    ]);
  });

  it('packages each image once, and not at all when it was pushed for exactly these model files', () => {
    const shared = parseDeploymentSpec(
      'modules:\n  ma: {models: ["reg:latest"]}\n  mb: {models: ["reg:latest"]}\n',
    );
    const p = planRollout(input({ spec: shared }));
    const packaging = p.steps.filter((s) => s.action === 'package');
    expect(packaging).toMatchObject([
      { image: `${REPO}:reg-v1`, modules: ['ma', 'mb'], baseImage: 'node:20' },
    ]);

    const done = planRollout(
      input({
        spec: shared,
        registry: {
          versions: new Map([['reg', [v('reg', 1)]]]),
          packaged: [pushed(`${REPO}:reg-v1`, [v('reg', 1)])],
        },
      }),
    );
    expect(done.steps.map((s) => s.action)).toEqual(['generate', 'apply']);
  });

  it.each([
    ['built but never pushed', { ...pushed(`${REPO}:reg-v1`, [v('reg', 1)]), digest: null }],
    ['pushed for other files', pushed(`${REPO}:reg-v1`, [{ ...v('reg', 1), digest: digest('x', 9) }])],
    ['pushed for another platform', pushed(`${REPO}:reg-v1`, [v('reg', 1)], 'linux/arm64')],
  ])('packages again an image %s', (_why, record) => {
    const spec = parseDeploymentSpec('modules:\n  ma: {models: ["reg:latest"]}\n');
    const p = planRollout(
      input({ spec, registry: { versions: new Map([['reg', [v('reg', 1)]]]), packaged: [record] } }),
    );
    expect(p.steps[0]?.action).toBe('package');
  });

  it('leaves images to the spec (image:) or to the manifest generator (no repository)', () => {
    const spec = parseDeploymentSpec(
      'modules:\n  ma: {models: ["reg:latest"], image: "mine/a:7"}\n  mb: {models: ["other:1"]}\n',
    );
    const p = planRollout(input({ spec, packaging: { platform: 'linux/amd64', baseImage: 'node:20' } }));
    expect(p.rollout?.images).toEqual({ ma: 'mine/a:7' });
    expect(p.rollout?.spec.modules['mb']).toEqual({ models: ['other:1'] });
    expect(p.steps.map((s) => s.action)).toEqual(['generate', 'apply']);
  });

  it('is blocked, naming each problem, when a referenced model is not registered', () => {
    const p = planRollout(input({}, [v('other', 2)]));
    expect(p.status).toBe('blocked');
    expect(p.steps).toEqual([]);
    expect(p.notes).toEqual([
      { kind: 'missing', module: 'scorer', message: "no model named 'reg' is registered" },
      { kind: 'missing', module: 'pinned', message: 'model other:1 is not registered' },
    ]);
  });
});

describe('planRollout: what is deployed already', () => {
  it('is unchanged when the target holds this very rollout, and rolls out when a new version arrives', () => {
    const first = input();
    const deployed = deployedFrom(first);
    expect(planRollout(input({ deployed })).status).toBe('unchanged');
    const next = planRollout(input({ deployed }, [v('reg', 1), v('reg', 2), v('other', 1)]));
    expect(next.status).toBe('rollout');
    expect(next.rollout?.key).not.toBe(deployed.key);
  });

  it('applies again (without packaging) when the target drifted, e.g. the manifest file was deleted', () => {
    const spec = parseDeploymentSpec('modules:\n  ma: {models: ["reg:latest"]}\n');
    const registry = {
      versions: new Map([['reg', [v('reg', 1)]]]),
      packaged: [pushed(`${REPO}:reg-v1`, [v('reg', 1)])],
    };
    const deployed = deployedFrom(input({ spec, registry }));
    const p = planRollout(input({ spec, registry, deployed, drifted: true }));
    expect(p.status).toBe('rollout');
    expect(p.rollout?.key).toBe(deployed.key);
    expect(p.steps.map((s) => s.action)).toEqual(['generate', 'apply']);
  });

  it.each([
    ['target condition', { targetCondition: "tags.ring='canary'" }],
    ['layering', { layered: true }],
  ])('gives a new key when the %s changes (it changes what is applied)', (_what, change) => {
    const hub = { kind: 'hub' as const, key: 'hub:h/fleet', targetCondition: "tags.ring='prod'" };
    const before = planRollout(input({ target: hub })).rollout?.key;
    expect(planRollout(input({ target: { ...hub, ...change } })).rollout?.key).not.toBe(before);
  });

  it('keys the rollout by content: the order of modules in the spec does not matter, the rollout section neither', () => {
    const a = parseDeploymentSpec('modules:\n  mx: {models: ["reg:latest"]}\n  my: {models: ["other:1"]}\n');
    const b: DeploymentSpec = {
      ...parseDeploymentSpec('modules:\n  my: {models: ["other:1"]}\n  mx: {models: ["reg:latest"]}\n'),
      rollout: { imageRepository: 'elsewhere/x', gate: './gate.sh' },
    };
    expect(planRollout(input({ spec: a })).rollout?.key).toBe(planRollout(input({ spec: b })).rollout?.key);
  });
});

describe('planRollout: the gate', () => {
  const gate = (decisions: GateDecision[] = []) => ({
    enabled: true,
    decisions: new Map(decisions.map((d) => [`${d.name}:${d.version}`, d])),
  });

  it('asks the gate about a new version first, planning the rest as if it accepts', () => {
    const p = planRollout(input({ gate: gate() }, [v('reg', 1), v('other', 1)]));
    expect(p.steps.map((s) => s.action)).toEqual(['gate', 'package', 'package', 'generate', 'apply']);
    expect(p.steps[0]).toMatchObject({ id: 'gate:reg:1', model: v('reg', 1), modules: ['scorer'] });
  });

  it('does not ask about pinned versions, nor about the version deployed before the gate was set', () => {
    const deployed = deployedFrom(input());
    const p = planRollout(input({ gate: gate(), deployed }));
    expect(p.status).toBe('unchanged');
  });

  it('does not deploy a rejected version and keeps the deployed one, without asking again', () => {
    const deployed = deployedFrom(input());
    const p = planRollout(
      input({ gate: gate([decision(v('reg', 2), false)]), deployed }, [
        v('reg', 1),
        v('reg', 2),
        v('other', 1),
      ]),
    );
    expect(p.status).toBe('unchanged');
    expect(p.notes).toEqual([
      { kind: 'rejected', module: 'scorer', message: 'reg:2 was rejected by the gate: too slow' },
      { kind: 'kept', module: 'scorer', message: "module 'scorer' stays on reg:1" },
    ]);
  });

  it('asks again about the next version after a rejected one, and falls back to the newest accepted one', () => {
    const versions = [v('reg', 1), v('reg', 2), v('reg', 3), v('reg', 4), v('other', 1)];
    const asked = planRollout(input({ gate: gate([decision(v('reg', 3), false)]) }, versions));
    expect(asked.steps[0]?.id).toBe('gate:reg:4');

    const fallback = planRollout(
      input(
        {
          gate: gate([
            decision(v('reg', 2), true),
            decision(v('reg', 3), false),
            decision(v('reg', 4), false),
          ]),
        },
        versions,
      ),
    );
    expect(fallback.rollout?.models[0]).toMatchObject({ module: 'scorer', version: 2 });
  });

  it('is blocked when the gate rejected every version there is', () => {
    const p = planRollout(input({ gate: gate([decision(v('reg', 1), false, 'accuracy 0.41')]) }));
    expect(p.status).toBe('blocked');
    expect(p.notes.map((n) => n.message)).toEqual([
      'reg:1 was rejected by the gate: accuracy 0.41',
      "reg:latest: no version of 'reg' was accepted by the gate",
    ]);
  });
});
