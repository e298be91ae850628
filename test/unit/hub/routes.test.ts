import { describe, expect, it } from 'vitest';
import { evaluate, type MessageView, parseCondition } from '../../../agent/hub/routes/condition.js';
import { RoutesError } from '../../../agent/hub/routes/errors.js';
import { tokenize } from '../../../agent/hub/routes/lexer.js';
import { parseRoute } from '../../../agent/hub/routes/route-parser.js';
import { compileRoutes, routeMessage } from '../../../agent/hub/routes/route-table.js';

const view = (
  app: Record<string, string> = {},
  system: MessageView['system'] = {},
  body?: unknown,
): MessageView => ({
  app,
  system,
  body: () => body,
});

function cond(text: string) {
  const [c] = parseCondition(tokenize(text), 0, 'INTO');
  return c;
}

describe('route parser', () => {
  it.each([
    ['FROM /messages/* INTO $upstream', { kind: 'allMessages' }, { kind: 'upstream' }],
    ['from /* into $UPSTREAM', { kind: 'allMessages' }, { kind: 'upstream' }],
    ['FROM /messages/modules/* INTO $upstream', { kind: 'allModules' }, { kind: 'upstream' }],
    [
      'FROM /messages/modules/scoring/* INTO $upstream',
      { kind: 'module', moduleId: 'scoring' },
      { kind: 'upstream' },
    ],
    [
      'FROM /messages/modules/scoring INTO $upstream',
      { kind: 'module', moduleId: 'scoring' },
      { kind: 'upstream' },
    ],
    [
      'FROM /messages/modules/s/outputs/* INTO $upstream',
      { kind: 'anyOutput', moduleId: 's' },
      { kind: 'upstream' },
    ],
    [
      'FROM /messages/modules/scoring/outputs/collect INTO BrokeredEndpoint("/modules/sink/inputs/in1")',
      { kind: 'output', moduleId: 'scoring', output: 'collect' },
      { kind: 'moduleInput', moduleId: 'sink', input: 'in1' },
    ],
    [
      "FROM /messages/modules/a/outputs/o INTO brokeredendpoint('/modules/b/inputs/i')",
      { kind: 'output', moduleId: 'a', output: 'o' },
      { kind: 'moduleInput', moduleId: 'b', input: 'i' },
    ],
    [
      'FROM /twinChangeNotifications INTO $upstream',
      { kind: 'twinChangeNotifications' },
      { kind: 'upstream' },
    ],
  ])('%s', (text, source, sink) => {
    const route = parseRoute(text);
    expect(route.source).toEqual(source);
    expect(route.sink).toEqual(sink);
    expect(route.condition).toBeUndefined();
  });

  it('reads a WHERE condition up to INTO', () => {
    const route = parseRoute(
      "FROM /messages/* WHERE alert = 'into' AND NOT $connectionModuleId = 'x' INTO $upstream",
    );
    expect(route.condition?.kind).toBe('and');
    expect(route.sink).toEqual({ kind: 'upstream' });
  });

  it.each([
    ['INTO $upstream', /starts with FROM/, 0],
    ['FROM messages INTO $upstream', /expected a source/, 5],
    ['FROM /messages/* $upstream', /expected INTO or WHERE/, 17],
    ['FROM /messages/* INTO', /unknown sink 'nothing'/, 21],
    ['FROM /messages/* INTO $downstream', /unknown sink '\$downstream'/, 22],
    ['FROM /devices/* INTO $upstream', /unknown source '\/devices\/\*'/, 5],
    ['FROM /messages/modules/*/outputs/o INTO $upstream', /unknown source/, 5],
    [
      'FROM /messages/* INTO BrokeredEndpoint("/modules/b/outputs/o")',
      /must name "\/modules\/\{id\}\/inputs/,
      39,
    ],
    ['FROM /messages/* INTO BrokeredEndpoint("/modules/b/inputs/i"', /expected '\)'/, 60],
    ["FROM /messages/* WHERE a = 'x INTO $upstream", /string is not closed/, 27],
    ['FROM /messages/* WHERE a = INTO $upstream', /found the keyword 'INTO'/, 27],
    ['FROM /messages/* WHERE a INTO $upstream', /expected a comparison/, 25],
    ["FROM /messages/* WHERE $nope = 'x' INTO $upstream", /unknown system property '\$nope'/, 23],
    ['FROM /messages/* WHERE (a = 1 INTO $upstream', /expected '\)'/, 30],
    ['FROM /messages/* INTO $upstream extra', /unexpected 'extra' after the sink/, 32],
    ['FROM /messages/* WHERE a ~ 1 INTO $upstream', /unexpected character '~'/, 25],
  ])('rejects %s', (text, message, position) => {
    const err = (() => {
      try {
        compileRoutes({
          routes: [{ name: 'bad', route: text }],
          storeAndForwardConfiguration: { timeToLiveSecs: 7200 },
        });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(RoutesError);
    const e = err as RoutesError;
    expect(e.code).toBe('ROUTES_INVALID');
    expect(e.issues[0]?.message).toMatch(message);
    expect(e.issues[0]?.position).toBe(position);
    expect(e.message).toContain("route 'bad'");
  });

  it('lists every bad route, not only the first', () => {
    const err = (() => {
      try {
        compileRoutes({
          routes: [
            { name: 'good', route: 'FROM /messages/* INTO $upstream' },
            { name: 'one', route: 'FROM x INTO $upstream' },
            { name: 'two', route: 'FROM /messages/* INTO nowhere' },
          ],
          storeAndForwardConfiguration: { timeToLiveSecs: 7200 },
        });
      } catch (e) {
        return e as RoutesError;
      }
      return undefined;
    })();
    expect(err?.issues.map((i) => i.route)).toEqual(['one', 'two']);
  });
});

describe('conditions', () => {
  it.each([
    ["level = 'critical'", { level: 'critical' }, true],
    ["level = 'critical'", { level: 'info' }, false],
    ["level <> 'critical'", { level: 'info' }, true],
    ["level != 'critical'", { level: 'critical' }, false],
    ["level <> 'critical'", {}, false],
    ["NOT level = 'critical'", {}, false],
    ['temp > 30', { temp: '31.5' }, true],
    ['temp > 30', { temp: '29' }, false],
    ['temp >= 30 AND temp <= 40', { temp: '30' }, true],
    ['temp > 30', { temp: 'hot' }, false],
    ["a = 'x' OR b = 'y'", { b: 'y' }, true],
    ["a = 'x' OR b = 'y'", {}, false],
    ["NOT (a = 'x' OR b = 'y')", { a: 'z', b: 'z' }, true],
    ["a = 'x' AND b = 'y' OR c = 'z'", { c: 'z' }, true],
    ["a = 'x' AND (b = 'y' OR c = 'z')", { c: 'z' }, false],
    ['IS_DEFINED(a)', { a: '' }, true],
    ['NOT IS_DEFINED(a)', {}, true],
    ['true', {}, true],
    ["name = 'it''s'", { name: "it's" }, true],
    ['flag = true', { flag: 'true' }, false],
  ])('%s with %j → %s', (text, app, expected) => {
    expect(evaluate(cond(text), view(app))).toBe(expected);
  });

  it('reads system properties case-insensitively', () => {
    const c = cond("$contenttype = 'application/json' AND $connectionModuleId = 'scoring'");
    expect(evaluate(c, view({}, { contentType: 'application/json', connectionModuleId: 'scoring' }))).toBe(
      true,
    );
    expect(evaluate(c, view({}, { contentType: 'text/plain', connectionModuleId: 'scoring' }))).toBe(false);
  });

  it('reads JSON bodies through $body', () => {
    const c = cond("$body.model.name = 'ridge' AND $body.score > 0.5");
    expect(evaluate(c, view({}, {}, { model: { name: 'ridge' }, score: 0.7 }))).toBe(true);
    expect(evaluate(c, view({}, {}, { model: { name: 'ridge' }, score: 0.2 }))).toBe(false);
    expect(evaluate(c, view({}, {}, undefined))).toBe(false);
  });
});

describe('routing a message', () => {
  const table = compileRoutes({
    routes: [
      { name: 'all', route: 'FROM /messages/* INTO $upstream' },
      {
        name: 'collect',
        route: 'FROM /messages/modules/scoring/outputs/collect INTO $upstream',
        priority: 1,
        timeToLiveSecs: 60,
      },
      {
        name: 'alerts',
        route: "FROM /messages/* WHERE level = 'critical' INTO $upstream",
        priority: 0,
        timeToLiveSecs: 0,
      },
      {
        name: 'fanout',
        route: 'FROM /messages/modules/scoring/* INTO BrokeredEndpoint("/modules/sink/inputs/in1")',
      },
    ],
    storeAndForwardConfiguration: { timeToLiveSecs: 7200 },
  });

  it('stores once per endpoint with the highest priority of the matching routes', () => {
    const targets = routeMessage(table, { moduleId: 'scoring', outputName: 'collect' }, view());
    expect(targets).toEqual([
      { endpoint: '$upstream', priority: 1, timeToLiveSecs: 60, route: 'collect' },
      { endpoint: 'modules/sink/inputs/in1', priority: 10, timeToLiveSecs: 7200, route: 'fanout' },
    ]);
  });

  it('uses the store-and-forward TTL for a route TTL of 0, and filters by condition', () => {
    const targets = routeMessage(
      table,
      { moduleId: 'other', outputName: undefined },
      view({ level: 'critical' }),
    );
    expect(targets).toEqual([{ endpoint: '$upstream', priority: 0, timeToLiveSecs: 7200, route: 'alerts' }]);
  });

  it('returns nothing when no route matches', () => {
    const only = compileRoutes({
      routes: [{ name: 'r', route: 'FROM /messages/modules/a/outputs/o INTO $upstream' }],
      storeAndForwardConfiguration: { timeToLiveSecs: 10 },
    });
    expect(routeMessage(only, { moduleId: 'a', outputName: 'p' }, view())).toEqual([]);
    expect(routeMessage(only, { moduleId: 'a', outputName: undefined }, view())).toEqual([]);
    expect(routeMessage(only, { moduleId: 'a', outputName: 'o' }, view())).toHaveLength(1);
  });
});
