import { describe, expect, it } from 'vitest';
import {
  checkDeploymentRequest,
  conditionPaths,
  parseMetricQuery,
  parseTargetCondition,
  QueryTextError,
} from '../../../cloud/fleet/index.js';
import { isModelportError } from '../../../common/errors.js';

function offsetOf(fn: () => unknown): { offset: number; message: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof QueryTextError) return { offset: e.offset, message: e.message };
    throw e;
  }
  expect.fail('expected a QueryTextError');
}

describe('parseTargetCondition accepts what IoT Hub accepts', () => {
  it.each([
    "tags.environment='prod'",
    "tags.environment = 'prod' AND tags.location = 'westus'",
    "deviceId='linuxprod'",
    "tags.ring='canary' OR (tags.ring='fleet' AND NOT tags.paused=true)",
    "properties.reported.os IN ['linux', 'windows']",
    "properties.reported.os NIN ['windows']",
    'IS_DEFINED(tags.ring)',
    "STARTS_WITH(deviceId, 'edge-')",
    'tags.weight >= 2.5 and tags.weight < 10',
    'tags.[[odd-name]] <> "x"',
    "tags.owner = 'O''Brien'",
    'not is_defined(tags.retired)',
  ])('%s', (text) => {
    expect(() => parseTargetCondition(text)).not.toThrow();
  });

  it('reads the paths it names', () => {
    const paths = conditionPaths(
      parseTargetCondition("tags.ring='canary' AND properties.reported.os IN ['linux']"),
    );
    expect(paths.map((p) => p.path.join('.'))).toEqual(['tags.ring', 'properties.reported.os']);
  });
});

describe('parseTargetCondition refuses mistakes at their position', () => {
  it.each([
    ["tags.ring='canary", 10, 'unterminated string'],
    ["tags.ring='canary' AND", 22, 'expected a twin path or a value, found the end of the text'],
    ['tags.ring=canary', 10, "quote strings ('canary')"],
    ["tags.ring='canary' tags.x='y'", 19, 'join conditions with AND or OR'],
    ["(tags.ring='canary'", 19, "')' to close"],
    ["tags.ring=='canary'", 10, 'expected a twin path or a value'],
    ["properties.desired.x='y'", 0, 'cannot be read by a target condition'],
    ["configurations.[[d]].status='Applied'", 0, 'cannot be read by a target condition'],
    ["tags='x'", 0, 'name a tag'],
    ["tags.ring IN 'canary'", 13, "'[' to start the list"],
    ['FOO(tags.x)', 0, 'unknown function FOO'],
    ['STARTS_WITH(tags.x)', 0, 'STARTS_WITH takes 2 arguments'],
    ["'a'='a'", 3, 'no twin path on either side'],
    ['tags.ring ~ 1', 10, "unexpected character '~'"],
    ['', 0, 'empty'],
  ] as const)('%s → offset %i', (text, offset, message) => {
    const e = offsetOf(() => parseTargetCondition(text));
    expect(e.offset).toBe(offset);
    expect(e.message).toContain(message);
  });

  it('shows the condition with a caret under the problem in the usage error', () => {
    try {
      checkDeploymentRequest({ id: 'canary', targetCondition: "tags.ring='canary' AND", priority: 1 });
      expect.fail('expected a usage error');
    } catch (e) {
      if (!isModelportError(e)) throw e;
      expect(e.code).toBe('TARGET_CONDITION_INVALID');
      expect(e.exitCode).toBe(2);
      expect(e.message).toBe(
        'invalid --target-condition at character 23: expected a twin path or a value, found the end of the text\n' +
          "  tags.ring='canary' AND\n" +
          `  ${' '.repeat(22)}^`,
      );
    }
  });
});

describe('parseMetricQuery', () => {
  it('parses the queries IoT Hub uses for deployment metrics', () => {
    const q = parseMetricQuery(
      "SELECT deviceId FROM devices.modules WHERE moduleId = '$edgeAgent' AND configurations.[[scoring-v2]].status = 'Applied' AND properties.desired.$version = properties.reported.lastDesiredVersion",
    );
    expect(q.from).toBe('devices.modules');
    expect(q.select).toEqual(['deviceId']);
    expect(parseMetricQuery('select * from devices').from).toBe('devices');
  });

  it.each([
    ['deviceId FROM devices', 0, 'expected SELECT'],
    ['SELECT deviceId FROM twins', 21, 'FROM devices or devices.modules'],
    ['SELECT deviceId FROM devices WHERE', 34, 'expected a twin path or a value'],
  ] as const)('refuses %s', (text, offset, message) => {
    const e = offsetOf(() => parseMetricQuery(text));
    expect(e.offset).toBe(offset);
    expect(e.message).toContain(message);
  });
});

describe('checkDeploymentRequest', () => {
  const ok = { id: 'scoring-v2', targetCondition: "tags.app='scoring'", priority: 10 };
  const codeOf = (req: Parameters<typeof checkDeploymentRequest>[0]) => {
    try {
      checkDeploymentRequest(req);
      return 'ok';
    } catch (e) {
      if (isModelportError(e)) return e.code;
      throw e;
    }
  };

  it.each([
    [{ ...ok }, 'ok'],
    [{ ...ok, id: 'Scoring' }, 'DEPLOYMENT_ID_INVALID'],
    [{ ...ok, id: 'a'.repeat(129) }, 'DEPLOYMENT_ID_INVALID'],
    [{ ...ok, priority: -1 }, 'PRIORITY_INVALID'],
    [{ ...ok, priority: 1.5 }, 'PRIORITY_INVALID'],
    [{ ...ok, targetCondition: '  ' }, 'TARGET_CONDITION_INVALID'],
    [{ ...ok, labels: { app: 'scoring' } }, 'ok'],
    [{ ...ok, labels: { $app: 'x' } }, 'LABEL_INVALID'],
    [{ ...ok, metrics: { ok: "SELECT deviceId FROM devices WHERE tags.ring='canary'" } }, 'ok'],
    [{ ...ok, metrics: { ok: 'SELECT FROM devices' } }, 'METRIC_INVALID'],
    [{ ...ok, metrics: { appliedCount: 'SELECT deviceId FROM devices' } }, 'METRIC_INVALID'],
  ])('%j → %s', (req, code) => {
    expect(codeOf(req)).toBe(code);
  });
});
