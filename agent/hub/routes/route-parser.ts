/**
 * Parses one edgeHub route: `FROM <source> [WHERE <condition>] INTO <sink>`.
 * Sources: `/*`, `/messages[/*]`, `/messages/modules[/*]`, `/messages/modules/{m}[/*]`,
 * `/messages/modules/{m}/outputs[/*]`, `/messages/modules/{m}/outputs/{o}`, `/twinChangeNotifications`.
 * Sinks: `$upstream`, `BrokeredEndpoint("/modules/{m}/inputs/{i}")`. Keywords are case-insensitive.
 */
import { type Condition, parseCondition } from './condition.js';
import { RouteSyntaxError } from './errors.js';
import { type Token, tokenize } from './lexer.js';

export type SourcePattern =
  | { kind: 'allMessages' }
  | { kind: 'allModules' }
  | { kind: 'module'; moduleId: string }
  | { kind: 'anyOutput'; moduleId: string }
  | { kind: 'output'; moduleId: string; output: string }
  /** Twin change notifications: accepted for compatibility; this hub produces none. */
  | { kind: 'twinChangeNotifications' };

export type Sink = { kind: 'upstream' } | { kind: 'moduleInput'; moduleId: string; input: string };

export interface ParsedRoute {
  source: SourcePattern;
  condition: Condition | undefined;
  sink: Sink;
}

export function parseRoute(text: string): ParsedRoute {
  const tokens = tokenize(text);
  let i = 0;
  const next = (): Token => tokens[i++] as Token;
  const from = next();
  if (!isWord(from, 'FROM'))
    throw new RouteSyntaxError(`a route starts with FROM, not '${from.text}'`, from.position);
  const path = next();
  if (path.kind !== 'path')
    throw new RouteSyntaxError(
      `expected a source such as /messages/* after FROM, found '${path.text}'`,
      path.position,
    );
  const source = parseSource(path);
  let condition: Condition | undefined;
  if (isWord(tokens[i] as Token, 'WHERE')) {
    i += 1;
    [condition, i] = parseCondition(tokens, i, 'INTO');
  }
  const into = next();
  if (!isWord(into, 'INTO'))
    throw new RouteSyntaxError(
      `expected INTO${condition ? '' : ' or WHERE'}, found '${into.text || 'the end'}'`,
      into.position,
    );
  const sink = parseSink(tokens, i);
  return { source, condition, sink: sink.sink };
}

function parseSource(token: Token): SourcePattern {
  const segments = token.text.split('/').slice(1);
  const lower = segments.map((s) => s.toLowerCase());
  const fail = () =>
    new RouteSyntaxError(
      `unknown source '${token.text}' (use /messages/*, /messages/modules/{id}/*, /messages/modules/{id}/outputs/*, or /messages/modules/{id}/outputs/{name})`,
      token.position,
    );
  const wildOrEnd = (k: number) =>
    segments.length === k || (segments.length === k + 1 && segments[k] === '*');
  if (segments.length === 1 && segments[0] === '*') return { kind: 'allMessages' };
  if (lower.length === 1 && lower[0] === 'twinchangenotifications')
    return { kind: 'twinChangeNotifications' };
  if (lower[0] !== 'messages') throw fail();
  if (wildOrEnd(1)) return { kind: 'allMessages' };
  if (lower[1] !== 'modules') throw fail();
  if (wildOrEnd(2)) return { kind: 'allModules' };
  const moduleId = segments[2] as string;
  if (moduleId === '' || moduleId.includes('*')) throw fail();
  if (wildOrEnd(3)) return { kind: 'module', moduleId };
  if (lower[3] !== 'outputs') throw fail();
  if (wildOrEnd(4)) return { kind: 'anyOutput', moduleId };
  const output = segments[4] as string;
  if (segments.length !== 5 || output === '' || output.includes('*')) throw fail();
  return { kind: 'output', moduleId, output };
}

function parseSink(tokens: readonly Token[], start: number): { sink: Sink } {
  const t = tokens[start] as Token;
  const rest = (k: number) => tokens[start + k] as Token;
  if ((t.kind === 'system' || t.kind === 'word') && t.text.toLowerCase() === '$upstream') {
    expectEnd(rest(1));
    return { sink: { kind: 'upstream' } };
  }
  if (isWord(t, 'BrokeredEndpoint')) {
    if (rest(1).text !== '(')
      throw new RouteSyntaxError("expected '(' after BrokeredEndpoint", rest(1).position);
    const target = rest(2);
    if (target.kind !== 'string')
      throw new RouteSyntaxError(
        'BrokeredEndpoint takes a quoted "/modules/{id}/inputs/{name}"',
        target.position,
      );
    const match = /^\/modules\/([^/*]+)\/inputs\/([^/*]+)$/i.exec(target.text);
    if (!match)
      throw new RouteSyntaxError(
        `BrokeredEndpoint("${target.text}") must name "/modules/{id}/inputs/{name}"`,
        target.position,
      );
    if (rest(3).text !== ')') throw new RouteSyntaxError("expected ')'", rest(3).position);
    expectEnd(rest(4));
    return { sink: { kind: 'moduleInput', moduleId: match[1] as string, input: match[2] as string } };
  }
  throw new RouteSyntaxError(
    `unknown sink '${t.text || 'nothing'}' (use $upstream or BrokeredEndpoint("/modules/{id}/inputs/{name}"))`,
    t.position,
  );
}

function expectEnd(t: Token): void {
  if (t.kind !== 'end') throw new RouteSyntaxError(`unexpected '${t.text}' after the sink`, t.position);
}

function isWord(t: Token, word: string): boolean {
  return t.kind === 'word' && t.text.toLowerCase() === word.toLowerCase();
}
