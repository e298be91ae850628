/**
 * The WHERE condition of a route: IoT Hub's message-routing query language, the part edgeHub uses
 * on message properties. Supported: application properties by name, `$`-prefixed system properties,
 * `$body.a.b` on JSON bodies, string/number/true/false literals, `=`, `<>`/`!=`, `<`, `<=`, `>`,
 * `>=`, `AND`, `OR`, `NOT`, parentheses and `IS_DEFINED(x)`.
 *
 * Three-valued like SQL: comparing with a missing property is "unknown", which is not true, and
 * `NOT unknown` stays unknown. Application properties are strings; compared with a number literal
 * they are read as numbers when they are numeric.
 */
import { RouteSyntaxError } from './errors.js';
import type { Token } from './lexer.js';

export const SYSTEM_PROPERTIES = [
  'contentType',
  'contentEncoding',
  'connectionDeviceId',
  'connectionModuleId',
  'messageId',
  'correlationId',
  'userId',
  'outputName',
  'enqueuedTime',
] as const;
export type SystemName = (typeof SYSTEM_PROPERTIES)[number];

export type CompareOp = '=' | '<>' | '<' | '<=' | '>' | '>=';
export type Literal = string | number | boolean | null;

export type Operand =
  | { kind: 'app'; name: string }
  | { kind: 'system'; name: SystemName }
  | { kind: 'body'; path: string[] }
  | { kind: 'literal'; value: Literal };

export type Condition =
  | { kind: 'compare'; op: CompareOp; left: Operand; right: Operand }
  | { kind: 'and' | 'or'; left: Condition; right: Condition }
  | { kind: 'not'; operand: Condition }
  | { kind: 'defined'; operand: Operand }
  | { kind: 'constant'; value: boolean };

/** What a condition can read of a message. */
export interface MessageView {
  app: Readonly<Record<string, string>>;
  system: Readonly<Partial<Record<SystemName, string>>>;
  /** The body parsed as JSON when it is JSON, else undefined (read only if a condition asks). */
  body(): unknown;
}

const SYSTEM_BY_LOWER = new Map(SYSTEM_PROPERTIES.map((n) => [n.toLowerCase(), n]));

/** Parses a condition from `tokens[start]` up to the word `stopWord` (or the end); returns it and the stop index. */
export function parseCondition(
  tokens: readonly Token[],
  start: number,
  stopWord: string,
): [Condition, number] {
  const p = new Parser(tokens, start, stopWord);
  const condition = p.or();
  if (!p.atStop())
    throw new RouteSyntaxError(`unexpected '${p.peek().text}' in the condition`, p.peek().position);
  return [condition, p.index];
}

class Parser {
  constructor(
    private readonly tokens: readonly Token[],
    public index: number,
    private readonly stopWord: string,
  ) {}

  peek(offset = 0): Token {
    return this.tokens[Math.min(this.index + offset, this.tokens.length - 1)] as Token;
  }

  atStop(): boolean {
    const t = this.peek();
    return t.kind === 'end' || this.isWord(t, this.stopWord);
  }

  or(): Condition {
    let left = this.and();
    while (this.isWord(this.peek(), 'OR')) {
      this.index += 1;
      left = { kind: 'or', left, right: this.and() };
    }
    return left;
  }

  private and(): Condition {
    let left = this.not();
    while (this.isWord(this.peek(), 'AND')) {
      this.index += 1;
      left = { kind: 'and', left, right: this.not() };
    }
    return left;
  }

  private not(): Condition {
    if (this.isWord(this.peek(), 'NOT')) {
      this.index += 1;
      return { kind: 'not', operand: this.not() };
    }
    return this.primary();
  }

  private primary(): Condition {
    const t = this.peek();
    if (t.kind === 'punct' && t.text === '(') {
      this.index += 1;
      const inner = this.or();
      this.expectPunct(')');
      return inner;
    }
    if (this.isWord(t, 'IS_DEFINED') && this.peek(1).text === '(') {
      this.index += 2;
      const operand = this.operand();
      this.expectPunct(')');
      return { kind: 'defined', operand };
    }
    if ((this.isWord(t, 'true') || this.isWord(t, 'false')) && this.peek(1).kind !== 'op') {
      this.index += 1;
      return { kind: 'constant', value: t.text.toLowerCase() === 'true' };
    }
    const left = this.operand();
    const op = this.peek();
    if (op.kind !== 'op')
      throw new RouteSyntaxError(`expected a comparison (=, <>, <, >…) after '${t.text}'`, op.position);
    this.index += 1;
    const right = this.operand();
    return { kind: 'compare', op: op.text === '!=' ? '<>' : (op.text as CompareOp), left, right };
  }

  private operand(): Operand {
    const t = this.peek();
    this.index += 1;
    switch (t.kind) {
      case 'string':
        return { kind: 'literal', value: t.text };
      case 'number':
        return { kind: 'literal', value: Number(t.text) };
      case 'system':
        return systemOperand(t);
      case 'word': {
        const lower = t.text.toLowerCase();
        if (lower === 'true' || lower === 'false') return { kind: 'literal', value: lower === 'true' };
        if (lower === 'null') return { kind: 'literal', value: null };
        if (['and', 'or', 'not', 'into', 'where', 'from'].includes(lower))
          throw new RouteSyntaxError(
            `expected a property or a value, found the keyword '${t.text}'`,
            t.position,
          );
        return { kind: 'app', name: t.text };
      }
      default:
        throw new RouteSyntaxError(
          t.kind === 'end'
            ? 'the condition ends too early'
            : `expected a property or a value, found '${t.text}'`,
          t.position,
        );
    }
  }

  private expectPunct(text: string): void {
    const t = this.peek();
    if (t.kind !== 'punct' || t.text !== text) throw new RouteSyntaxError(`expected '${text}'`, t.position);
    this.index += 1;
  }

  private isWord(t: Token, word: string): boolean {
    return t.kind === 'word' && t.text.toLowerCase() === word.toLowerCase();
  }
}

function systemOperand(t: Token): Operand {
  const name = t.text.slice(1);
  if (name.toLowerCase().startsWith('body.') && name.length > 5)
    return { kind: 'body', path: name.slice(5).split('.') };
  const known = SYSTEM_BY_LOWER.get(name.toLowerCase());
  if (!known)
    throw new RouteSyntaxError(
      `unknown system property '${t.text}' (known: ${SYSTEM_PROPERTIES.map((n) => `$${n}`).join(', ')}, $body.<path>)`,
      t.position,
    );
  return { kind: 'system', name: known };
}

type Value = Literal | undefined;

/** True only when the condition is true (unknown counts as not matching). */
export function evaluate(condition: Condition, message: MessageView): boolean {
  return truth(condition, message) === true;
}

function truth(c: Condition, m: MessageView): boolean | undefined {
  switch (c.kind) {
    case 'constant':
      return c.value;
    case 'defined':
      return read(c.operand, m) !== undefined;
    case 'not': {
      const v = truth(c.operand, m);
      return v === undefined ? undefined : !v;
    }
    case 'and': {
      const l = truth(c.left, m);
      if (l === false) return false;
      const r = truth(c.right, m);
      if (r === false) return false;
      return l === true && r === true ? true : undefined;
    }
    case 'or': {
      const l = truth(c.left, m);
      if (l === true) return true;
      const r = truth(c.right, m);
      if (r === true) return true;
      return l === false && r === false ? false : undefined;
    }
    case 'compare':
      return compare(c.op, read(c.left, m), read(c.right, m));
  }
}

function read(o: Operand, m: MessageView): Value {
  switch (o.kind) {
    case 'literal':
      return o.value;
    case 'app':
      return m.app[o.name];
    case 'system':
      return m.system[o.name];
    case 'body': {
      let cur: unknown = m.body();
      for (const key of o.path) {
        if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
        cur = (cur as Record<string, unknown>)[key];
      }
      return typeof cur === 'string' || typeof cur === 'number' || typeof cur === 'boolean' || cur === null
        ? cur
        : undefined;
    }
  }
}

function compare(op: CompareOp, a: Value, b: Value): boolean | undefined {
  if (a === undefined || b === undefined) return undefined;
  let l: Value = a;
  let r: Value = b;
  if (typeof l === 'number' && typeof r === 'string') r = numeric(r);
  else if (typeof l === 'string' && typeof r === 'number') l = numeric(l);
  if (l === undefined || r === undefined || typeof l !== typeof r) return undefined;
  if (op === '=') return l === r;
  if (op === '<>') return l !== r;
  if (l === null || typeof l === 'boolean' || r === null || typeof r === 'boolean') return undefined;
  switch (op) {
    case '<':
      return l < r;
    case '<=':
      return l <= r;
    case '>':
      return l > r;
    case '>=':
      return l >= r;
  }
}

function numeric(s: string): number | undefined {
  if (s.trim() === '') return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}
