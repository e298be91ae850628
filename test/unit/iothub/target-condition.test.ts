import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../test/support/iothub/json-doc.js';
import {
  ConditionSyntaxError,
  conditionPaths,
  evaluateCondition,
  parseCondition,
  parseQuery,
} from '../../../test/support/iothub/target-condition.js';

const twin = (tags: JsonObject, reported: JsonObject = {}, extra: JsonObject = {}): JsonObject => ({
  deviceId: 'edge-1',
  tags,
  properties: { desired: { $version: 3 }, reported: { ...reported, $version: 7 } },
  configurations: { 'deploy-a': { status: 'Applied' } },
  ...extra,
});

const matches = (condition: string, doc: JsonObject) => evaluateCondition(parseCondition(condition), doc);

describe('target conditions', () => {
  it.each([
    ["tags.environment='prod'", true],
    ["tags.environment = 'dev'", false],
    ["tags.environment='prod' AND tags.region='eu'", true],
    ["tags.environment='prod' and tags.region='us'", false],
    ["tags.environment='dev' OR tags.region='eu'", true],
    ["NOT tags.environment='dev'", true],
    ["NOT (tags.environment='prod' AND tags.region='eu')", false],
    ["tags.region IN ['us', 'eu']", true],
    ["tags.region IN ['us', 'asia']", false],
    ["tags.region NIN ['us', 'asia']", true],
    ['IS_DEFINED(tags.region)', true],
    ['IS_DEFINED(tags.rack)', false],
    ['NOT IS_DEFINED(tags.rack)', true],
    ['tags.floor > 2', true],
    ['tags.floor >= 3 AND tags.floor < 4', true],
    ['tags.floor <> 3', false],
    ['tags.floor != 4', true],
    ['tags.gpu = true', true],
    ['tags.owner = null', true],
    ["properties.reported.os = 'linux'", true],
    ["deviceId = 'edge-1'", true],
    ["STARTS_WITH(tags.environment, 'pr')", true],
    ["ENDS_WITH(tags.environment, 'x')", false],
    ['*', true],
    ["configurations.[[deploy-a]].status = 'Applied'", true],
    ['properties.desired.$version = 3', true],
  ])('%s → %s', (condition, expected) => {
    const doc = twin(
      { environment: 'prod', region: 'eu', floor: 3, gpu: true, owner: null },
      { os: 'linux' },
    );
    expect(matches(condition, doc)).toBe(expected);
  });

  it('treats a missing property as undefined: neither = nor != nor NOT of them selects the twin', () => {
    const doc = twin({});
    expect(matches("tags.environment = 'prod'", doc)).toBe(false);
    expect(matches("tags.environment != 'prod'", doc)).toBe(false);
    expect(matches("NOT tags.environment = 'prod'", doc)).toBe(false);
    expect(matches("tags.environment != 'prod' OR deviceId = 'edge-1'", doc)).toBe(true);
  });

  it('does not compare across types', () => {
    const doc = twin({ floor: '3' });
    expect(matches('tags.floor = 3', doc)).toBe(false);
    expect(matches('tags.floor != 3', doc)).toBe(false);
    expect(matches("tags.floor = '3'", doc)).toBe(true);
  });

  it('reads keywords in any case, escaped quotes and negative numbers', () => {
    const doc = twin({ name: "o'brien", t: -2.5 });
    expect(matches("tags.name = 'o\\'brien' aNd tags.t < -1", doc)).toBe(true);
  });

  it('compares two paths', () => {
    const doc = twin({}, { lastDesiredVersion: 3 });
    expect(matches('properties.desired.$version = properties.reported.lastDesiredVersion', doc)).toBe(true);
  });

  it('lists the paths a condition reads', () => {
    const paths = conditionPaths(
      parseCondition("tags.a='x' AND (NOT IS_DEFINED(properties.reported.b) OR deviceId IN ['d'])"),
    );
    expect(paths.map((p) => p.join('.'))).toEqual(['tags.a', 'properties.reported.b', 'deviceId']);
  });

  it.each([
    ["tags.environment='prod", 'Unterminated string literal'],
    ["tags.environment='prod' AND", 'Expected a property path or a value'],
    ["tags.environment 'prod'", 'Expected a comparison operator'],
    ["tags.environment='prod' tags.x='y'", 'Unexpected text after the condition'],
    ["tags.region IN ('us')", "Expected '['"],
    ["IS_DEFINED(tags.a, 'b')", 'IS_DEFINED takes 1 argument(s)'],
    ["(tags.a='b'", "Expected ')'"],
    ["tags.a ~ 'b'", "Unexpected character '~'"],
    ['', 'The condition is empty'],
  ])('rejects %j with a message naming the problem', (condition, message) => {
    expect(() => parseCondition(condition)).toThrow(ConditionSyntaxError);
    expect(() => parseCondition(condition)).toThrow(message);
  });

  it('reports where parsing stopped', () => {
    try {
      parseCondition("tags.a = 'x' OR OR");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConditionSyntaxError);
      expect((e as ConditionSyntaxError).position).toBe(16);
    }
  });
});

describe('queries', () => {
  it('parses SELECT … FROM devices.modules WHERE …', () => {
    const q = parseQuery("SELECT deviceId FROM devices.modules WHERE moduleId = '$edgeAgent'");
    expect(q.select).toEqual(['deviceId']);
    expect(q.from).toBe('devices.modules');
    expect(evaluateCondition(q.where, { moduleId: '$edgeAgent' })).toBe(true);
    expect(evaluateCondition(q.where, { moduleId: 'other' })).toBe(false);
  });

  it('projects several paths', () => {
    expect(parseQuery("SELECT deviceId, tags.env FROM devices WHERE tags.env = 'prod'").select).toEqual([
      'deviceId',
      'tags.env',
    ]);
  });

  it('selects everything without WHERE', () => {
    const q = parseQuery('select * from devices');
    expect(q.select).toEqual(['*']);
    expect(evaluateCondition(q.where, {})).toBe(true);
  });

  it('rejects an unknown collection', () => {
    expect(() => parseQuery('SELECT * FROM jobs')).toThrow("Unknown collection 'jobs'");
  });
});
