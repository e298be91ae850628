/**
 * Tokenizer and recursive-descent parser for the subset of IoT Hub's query language described in
 * target-condition.ts. Pure; used only through target-condition.ts.
 */
import { EmulatorError } from './errors.js';

export type Literal = string | number | boolean | null;
export type Operand = { kind: 'path'; path: string[] } | { kind: 'literal'; value: Literal };
export type ComparisonOp = '=' | '!=' | '<' | '>' | '<=' | '>=';
export type FunctionName =
  | 'IS_DEFINED'
  | 'IS_NULL'
  | 'IS_BOOL'
  | 'IS_NUMBER'
  | 'IS_STRING'
  | 'IS_OBJECT'
  | 'IS_PRIMITIVE'
  | 'STARTS_WITH'
  | 'ENDS_WITH';

export type Condition =
  | { kind: 'all' }
  | { kind: 'and'; left: Condition; right: Condition }
  | { kind: 'or'; left: Condition; right: Condition }
  | { kind: 'not'; operand: Condition }
  | { kind: 'compare'; op: ComparisonOp; left: Operand; right: Operand }
  | { kind: 'in'; negated: boolean; operand: Operand; values: Literal[] }
  | { kind: 'call'; name: FunctionName; args: Operand[] };

export interface Query {
  /** `['*']` or the projected paths, dotted. */
  select: string[];
  from: 'devices' | 'devices.modules';
  where: Condition;
}

/** A syntax error, with the character offset where parsing stopped. */
export class ConditionSyntaxError extends EmulatorError {
  readonly position: number;
  constructor(message: string, position: number) {
    super('HUB_CONDITION_SYNTAX', `${message} (at character ${position})`);
    this.position = position;
  }
}

const FUNCTIONS: Record<FunctionName, number> = {
  IS_DEFINED: 1,
  IS_NULL: 1,
  IS_BOOL: 1,
  IS_NUMBER: 1,
  IS_STRING: 1,
  IS_OBJECT: 1,
  IS_PRIMITIVE: 1,
  STARTS_WITH: 2,
  ENDS_WITH: 2,
};

const RESERVED = new Set(['AND', 'OR', 'NOT', 'IN', 'NIN', 'SELECT', 'FROM', 'WHERE']);

type Token =
  | { type: 'ident'; text: string; pos: number }
  | { type: 'bracketName'; text: string; pos: number }
  | { type: 'string'; text: string; pos: number }
  | { type: 'number'; value: number; pos: number }
  | { type: 'op'; text: string; pos: number }
  | { type: 'punct'; text: '(' | ')' | '[' | ']' | ',' | '.' | '*'; pos: number }
  | { type: 'end'; pos: number };

export function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const pos = i;
    if (input.startsWith('[[', i)) {
      const end = input.indexOf(']]', i + 2);
      if (end < 0) throw new ConditionSyntaxError("Unterminated '[[' name", pos);
      tokens.push({ type: 'bracketName', text: input.slice(i + 2, end), pos });
      i = end + 2;
    } else if (c === "'" || c === '"') {
      let text = '';
      i++;
      for (;;) {
        if (i >= input.length) throw new ConditionSyntaxError('Unterminated string literal', pos);
        const ch = input[i] as string;
        if (ch === '\\' && i + 1 < input.length) {
          text += input[i + 1];
          i += 2;
        } else if (ch === c) {
          i++;
          break;
        } else {
          text += ch;
          i++;
        }
      }
      tokens.push({ type: 'string', text, pos });
    } else if (/[0-9]/.test(c) || (c === '-' && /[0-9]/.test(input[i + 1] ?? ''))) {
      const m = /^-?\d+(\.\d+)?([eE][-+]?\d+)?/.exec(input.slice(i));
      const text = m?.[0] ?? c;
      tokens.push({ type: 'number', value: Number(text), pos });
      i += text.length;
    } else if (/[A-Za-z_$]/.test(c)) {
      const m = /^[A-Za-z0-9_$]+/.exec(input.slice(i));
      const text = m?.[0] ?? c;
      tokens.push({ type: 'ident', text, pos });
      i += text.length;
    } else {
      const two = input.slice(i, i + 2);
      if (two === '!=' || two === '<>' || two === '<=' || two === '>=') {
        tokens.push({ type: 'op', text: two === '<>' ? '!=' : two, pos });
        i += 2;
      } else if (c === '=' || c === '<' || c === '>') {
        tokens.push({ type: 'op', text: c, pos });
        i++;
      } else if ('()[],.*'.includes(c)) {
        tokens.push({ type: 'punct', text: c as '(' | ')' | '[' | ']' | ',' | '.' | '*', pos });
        i++;
      } else {
        throw new ConditionSyntaxError(`Unexpected character '${c}'`, pos);
      }
    }
  }
  tokens.push({ type: 'end', pos: input.length });
  return tokens;
}

export class Parser {
  private index = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.index] as Token;
  }
  private next(): Token {
    const t = this.peek();
    if (t.type !== 'end') this.index++;
    return t;
  }
  private isKeyword(word: string): boolean {
    const t = this.peek();
    return t.type === 'ident' && t.text.toUpperCase() === word;
  }
  private isPunct(text: string): boolean {
    const t = this.peek();
    return t.type === 'punct' && t.text === text;
  }
  private expectPunct(text: string): void {
    const t = this.next();
    if (t.type !== 'punct' || t.text !== text) throw new ConditionSyntaxError(`Expected '${text}'`, t.pos);
  }
  private expectKeyword(word: string): void {
    if (!this.isKeyword(word)) throw new ConditionSyntaxError(`Expected ${word}`, this.peek().pos);
    this.next();
  }

  atEnd(): boolean {
    return this.peek().type === 'end';
  }
  expectEnd(): void {
    const t = this.peek();
    if (t.type !== 'end') throw new ConditionSyntaxError('Unexpected text after the condition', t.pos);
  }

  query(): Query {
    this.expectKeyword('SELECT');
    const select: string[] = [];
    if (this.isPunct('*')) {
      this.next();
      select.push('*');
    } else {
      select.push(this.path().join('.'));
      while (this.isPunct(',')) {
        this.next();
        select.push(this.path().join('.'));
      }
    }
    this.expectKeyword('FROM');
    const source = this.path().join('.');
    if (source !== 'devices' && source !== 'devices.modules') {
      throw new ConditionSyntaxError(`Unknown collection '${source}' (devices or devices.modules)`, 0);
    }
    let where: Condition = { kind: 'all' };
    if (this.isKeyword('WHERE')) {
      this.next();
      where = this.or();
    }
    this.expectEnd();
    return { select, from: source, where };
  }

  or(): Condition {
    let left = this.and();
    while (this.isKeyword('OR')) {
      this.next();
      left = { kind: 'or', left, right: this.and() };
    }
    return left;
  }

  private and(): Condition {
    let left = this.unary();
    while (this.isKeyword('AND')) {
      this.next();
      left = { kind: 'and', left, right: this.unary() };
    }
    return left;
  }

  private unary(): Condition {
    if (this.isKeyword('NOT')) {
      this.next();
      return { kind: 'not', operand: this.unary() };
    }
    if (this.isPunct('(')) {
      this.next();
      const inner = this.or();
      this.expectPunct(')');
      return inner;
    }
    const t = this.peek();
    if (
      t.type === 'ident' &&
      t.text.toUpperCase() in FUNCTIONS &&
      this.tokens[this.index + 1]?.type === 'punct'
    ) {
      const after = this.tokens[this.index + 1] as Token;
      if (after.type === 'punct' && after.text === '(') return this.call();
    }
    return this.comparison();
  }

  private call(): Condition {
    const nameToken = this.next() as Token & { text: string };
    const name = nameToken.text.toUpperCase() as FunctionName;
    this.expectPunct('(');
    const args: Operand[] = [this.operand()];
    while (this.isPunct(',')) {
      this.next();
      args.push(this.operand());
    }
    this.expectPunct(')');
    if (args.length !== FUNCTIONS[name]) {
      throw new ConditionSyntaxError(`${name} takes ${FUNCTIONS[name]} argument(s)`, nameToken.pos);
    }
    return { kind: 'call', name, args };
  }

  private comparison(): Condition {
    const left = this.operand();
    if (this.isKeyword('IN') || this.isKeyword('NIN')) {
      const negated = (this.next() as { text: string }).text.toUpperCase() === 'NIN';
      this.expectPunct('[');
      const values: Literal[] = [this.literal()];
      while (this.isPunct(',')) {
        this.next();
        values.push(this.literal());
      }
      this.expectPunct(']');
      return { kind: 'in', negated, operand: left, values };
    }
    const t = this.next();
    if (t.type !== 'op') throw new ConditionSyntaxError('Expected a comparison operator', t.pos);
    return { kind: 'compare', op: t.text as ComparisonOp, left, right: this.operand() };
  }

  private operand(): Operand {
    const t = this.peek();
    if (t.type === 'string' || t.type === 'number') return { kind: 'literal', value: this.literal() };
    if (t.type === 'ident') {
      const upper = t.text.toUpperCase();
      if (upper === 'TRUE' || upper === 'FALSE' || upper === 'NULL') {
        return { kind: 'literal', value: this.literal() };
      }
      if (RESERVED.has(upper))
        throw new ConditionSyntaxError(`Expected a property path or a value, not ${upper}`, t.pos);
      return { kind: 'path', path: this.path() };
    }
    throw new ConditionSyntaxError('Expected a property path or a value', t.pos);
  }

  private literal(): Literal {
    const t = this.next();
    if (t.type === 'string') return t.text;
    if (t.type === 'number') return t.value;
    if (t.type === 'ident') {
      const upper = t.text.toUpperCase();
      if (upper === 'TRUE') return true;
      if (upper === 'FALSE') return false;
      if (upper === 'NULL') return null;
    }
    throw new ConditionSyntaxError(
      'Expected a value (a quoted string, a number, true, false or null)',
      t.pos,
    );
  }

  private path(): string[] {
    const first = this.next();
    if (first.type !== 'ident' && first.type !== 'bracketName') {
      throw new ConditionSyntaxError('Expected a property name', first.pos);
    }
    const path = [first.text];
    while (this.isPunct('.')) {
      this.next();
      const t = this.next();
      if (t.type !== 'ident' && t.type !== 'bracketName') {
        throw new ConditionSyntaxError("Expected a property name after '.'", t.pos);
      }
      path.push(t.text);
    }
    return path;
  }
}
