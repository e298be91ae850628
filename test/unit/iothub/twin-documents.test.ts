import { describe, expect, it } from 'vitest';
import { ConfigurationStore } from '../../../test/support/iothub/configuration-store.js';
import {
  applyModuleSection,
  chooseDeployments,
  type DeploymentCandidate,
  isLayered,
  mergeDeployments,
} from '../../../test/support/iothub/deployment-merge.js';
import { HubError } from '../../../test/support/iothub/errors.js';
import {
  applyMergePatch,
  diffAsMergePatch,
  type JsonObject,
  validateTwinSection,
} from '../../../test/support/iothub/json-doc.js';
import { parsePropertyBag } from '../../../test/support/iothub/telemetry-store.js';

describe('merge patches', () => {
  it('merges objects, replaces values and removes keys set to null', () => {
    const doc = { a: 1, b: { c: 2, d: 3 }, e: [1, 2] };
    expect(applyMergePatch(doc, { b: { c: null, f: 4 }, e: [3], g: 'x', a: null })).toEqual({
      b: { d: 3, f: 4 },
      e: [3],
      g: 'x',
    });
    expect(doc).toEqual({ a: 1, b: { c: 2, d: 3 }, e: [1, 2] });
  });

  it('finds the patch between two documents, which applied gives the second', () => {
    const from: JsonObject = { a: 1, b: { c: 2, d: 3 }, keep: 'same' };
    const to: JsonObject = { b: { c: 5, d: 3 }, n: { deep: true }, keep: 'same' };
    const patch = diffAsMergePatch(from, to);
    expect(patch).toEqual({ a: null, b: { c: 5 }, n: { deep: true } });
    expect(applyMergePatch(from, patch)).toEqual(to);
    expect(diffAsMergePatch(to, to)).toEqual({});
  });
});

describe("IoT Hub's twin limits", () => {
  const rejects = (doc: JsonObject, message: string) => {
    expect(() => validateTwinSection('desired', doc, false)).toThrow(HubError);
    expect(() => validateTwinSection('desired', doc, false)).toThrow(message);
  };

  it('accepts an edge agent document', () => {
    expect(() =>
      validateTwinSection(
        'desired',
        { schemaVersion: '1.1', modules: { m: { settings: { image: 'x' } } } },
        false,
      ),
    ).not.toThrow();
  });

  it.each([
    [{ 'a.b': 1 }, "key 'a.b' is not allowed"],
    [{ $x: 1 }, "key '$x' is not allowed"],
    [{ 'a b': 1 }, "key 'a b' is not allowed"],
    [{ s: 'x'.repeat(4097) }, 'is a string over 4096 bytes'],
    [{ big: Array.from({ length: 40 }, () => 'y'.repeat(1000)) }, 'IoT Hub allows at most 32768 bytes'],
    [
      { a: { b: { c: { d: { e: { f: { g: { h: { i: { j: { k: 1 } } } } } } } } } } },
      'nests deeper than 10 levels',
    ],
    [{ n: null }, 'is null'],
  ])('rejects %j', (doc, message) => rejects(doc as JsonObject, message));

  it('allows null in a patch, where it removes a property', () => {
    expect(() => validateTwinSection('desired', { n: null }, true)).not.toThrow();
  });
});

describe('deployments for one device', () => {
  const base = (
    id: string,
    priority: number,
    createdSequence: number,
    image: string,
  ): DeploymentCandidate => ({
    id,
    priority,
    createdSequence,
    modulesContent: {
      $edgeAgent: { 'properties.desired': { schemaVersion: '1.1', modules: { app: { image } } } },
      $edgeHub: { 'properties.desired': { schemaVersion: '1.1', routes: { r: 'FROM /* INTO $upstream' } } },
    },
  });
  const layer = (
    id: string,
    priority: number,
    createdSequence: number,
    content: JsonObject,
  ): DeploymentCandidate => ({
    id,
    priority,
    createdSequence,
    modulesContent: content,
  });

  it('tells base from layered deployments by a whole $edgeAgent desired document', () => {
    expect(isLayered(base('b', 1, 1, 'x').modulesContent)).toBe(false);
    expect(isLayered({ $edgeAgent: { 'properties.desired.modules.x': {} } })).toBe(true);
  });

  it('picks the highest-priority base, the newest on a tie, and applies layers lowest priority first', () => {
    const choice = chooseDeployments([
      base('low', 1, 1, 'low'),
      base('high-old', 5, 2, 'old'),
      base('high-new', 5, 3, 'new'),
      layer('l-10', 10, 4, { $edgeAgent: { 'properties.desired.modules.extra': { image: 'l10' } } }),
      layer('l-2', 2, 5, { $edgeAgent: { 'properties.desired.modules.extra': { image: 'l2' } } }),
    ]);
    expect(choice.base?.id).toBe('high-new');
    expect(choice.layers.map((l) => l.id)).toEqual(['l-2', 'l-10']);
    const modules = mergeDeployments(choice);
    expect(modules.get('$edgeAgent')).toEqual({
      schemaVersion: '1.1',
      modules: { app: { image: 'new' }, extra: { image: 'l10' } },
    });
    expect(modules.get('$edgeHub')).toEqual({
      schemaVersion: '1.1',
      routes: { r: 'FROM /* INTO $upstream' },
    });
  });

  it('merges a layer that adds a module twin and a route', () => {
    const modules = mergeDeployments(
      chooseDeployments([
        base('b', 1, 1, 'x'),
        layer('l', 1, 2, {
          $edgeHub: {
            'properties.desired.routes.scoring': 'FROM /messages/modules/scoring/* INTO $upstream',
          },
          scoring: { 'properties.desired': { threshold: 0.5 } },
        }),
      ]),
    );
    expect(modules.get('$edgeHub')).toEqual({
      schemaVersion: '1.1',
      routes: { r: 'FROM /* INTO $upstream', scoring: 'FROM /messages/modules/scoring/* INTO $upstream' },
    });
    expect(modules.get('scoring')).toEqual({ threshold: 0.5 });
  });

  it('rejects module content keys outside properties.desired', () => {
    expect(() => applyModuleSection({}, { 'properties.reported.x': 1 })).toThrow(
      "must be 'properties.desired' or start with 'properties.desired.'",
    );
  });
});

describe('configuration rules', () => {
  const store = () => new ConfigurationStore(() => new Date(Date.UTC(2030, 0, 1)));
  const deployment = (extra: JsonObject = {}): JsonObject => ({
    content: { modulesContent: { $edgeAgent: { 'properties.desired': { schemaVersion: '1.1' } } } },
    targetCondition: "tags.env='prod'",
    priority: 1,
    ...extra,
  });
  const fails = (fn: () => unknown, status: number, message: string) => {
    try {
      fn();
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(HubError);
      expect((e as HubError).httpStatus).toBe(status);
      expect((e as HubError).message).toContain(message);
    }
  };

  it.each([
    ['Upper', deployment(), 'is invalid'],
    ['d', deployment({ targetCondition: "tags.env='prod" }), 'Invalid target condition'],
    [
      'd',
      deployment({ targetCondition: "properties.desired.x='y'" }),
      "'properties.desired.x' is not allowed",
    ],
    ['d', deployment({ priority: -1 }), 'priority must be a non-negative integer'],
    ['d', deployment({ labels: { a: 1 } }), 'labels.a must be a string'],
    ['d', deployment({ metrics: { queries: { m: 'SELECT nothing' } } }), "Invalid metric query 'm'"],
    ['d', deployment({ content: {} }), 'content must hold exactly one'],
    ['d', deployment({ id: 'other' }), "names id 'other'"],
  ])('refuses configuration %s %j with 400', (id, body, message) => {
    fails(() => store().put(id, body, undefined), 400, message);
  });

  it('creates, refuses a second create, updates with the etag and keeps content immutable', () => {
    const configs = store();
    const created = configs.put('d', deployment(), undefined);
    expect(created.revision).toBe(1);
    fails(() => configs.put('d', deployment(), undefined), 409, 'already exists');
    fails(() => configs.put('d', deployment({ priority: 2 }), '"not-the-etag"'), 412, 'Precondition failed');
    const updated = configs.put('d', deployment({ priority: 2, targetCondition: '*' }), '"MQ=="');
    expect(updated.priority).toBe(2);
    expect(updated.revision).toBe(2);
    fails(
      () =>
        configs.put(
          'd',
          deployment({
            content: { modulesContent: { $edgeAgent: { 'properties.desired': { schemaVersion: '9' } } } },
          }),
          '*',
        ),
      400,
      'cannot be updated',
    );
    fails(() => configs.put('missing', deployment(), '*'), 404, "Configuration 'missing' not found");
  });
});

describe('telemetry property bags', () => {
  it('splits system from application properties and decodes them', () => {
    expect(
      parsePropertyBag('%24.mid=m-1&%24.ct=application%2Fjson&%24.on=out&temp=21.5&with%20space=a%26b'),
    ).toEqual({
      app: { temp: '21.5', 'with space': 'a&b' },
      system: { messageId: 'm-1', contentType: 'application/json', outputName: 'out' },
    });
  });
});
