/**
 * Target conditions and metric queries of IoT Hub configurations, parsed before anything is sent so a
 * mistake is refused with its position instead of the hub's terse 400.
 *
 * The part of IoT Hub's query language configurations use: comparisons `= != <> < > <= >=` between a
 * twin path and a literal ('single' or "double" quoted strings, numbers, true, false, null), `AND`,
 * `OR`, `NOT`, parentheses, `IN [..]` / `NIN [..]`, and the functions IS_DEFINED, IS_NULL, IS_BOOL,
 * IS_NUMBER, IS_STRING, IS_OBJECT, IS_PRIMITIVE, STARTS_WITH, ENDS_WITH. Paths are dotted names, with
 * `[[any text]]` for a segment holding other characters (`configurations.[[my-deploy]].status`).
 * A target condition may read only `tags.…`, `properties.reported.…` and `deviceId` (IoT Hub: "any
 * Boolean condition on device twin tags, reported properties or deviceId"). Keywords are
 * case-insensitive. Pure functions, no I/O.
 */
import { UsageError } from '../../common/errors.js';
import { describeToken, QueryTextError, type Token, tokenize } from './query-tokens.js';

export { QueryTextError } from './query-tokens.js';

export type Literal = string | number | boolean | null;
export type Operand =
  | { kind: 'path'; path: string[]; pos: number }
  | { kind: 'literal'; value: Literal; pos: number };
export type Condition =
  | { kind: 'and' | 'or'; left: Condition; right: Condition }
  | { kind: 'not'; operand: Condition }
  | { kind: 'compare'; op: string; left: Operand; right: Operand; pos: number }
  | { kind: 'in'; negated: boolean; operand: Operand; values: Literal[] }
  | { kind: 'call'; name: string; args: Operand[]; pos: number };

export interface MetricQuery {
  select: string[];
  from: 'devices' | 'devices.modules';
  where?: Condition;
}

const FUNCTIONS: Record<string, number> = {
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
const KEYWORDS = new Set([
  'AND',
  'OR',
  'NOT',
  'IN',
  'NIN',
  'TRUE',
  'FALSE',
  'NULL',
  'SELECT',
  'FROM',
  'WHERE',
]);

class Parser {
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

  private isKeyword(word: string, t: Token = this.peek()): boolean {
    return t.type === 'word' && t.text.toUpperCase() === word;
  }

  private isPunct(text: string, t: Token = this.peek()): boolean {
    return t.type === 'punct' && t.text === text;
  }

  private expectPunct(text: string, what: string): void {
    const t = this.next();
    if (!this.isPunct(text, t))
      throw new QueryTextError(`expected ${what}, found ${describeToken(t)}`, t.pos);
  }

  expectKeyword(word: string): void {
    const t = this.next();
    if (!this.isKeyword(word, t))
      throw new QueryTextError(`expected ${word}, found ${describeToken(t)}`, t.pos);
  }

  atEnd(): boolean {
    return this.peek().type === 'end';
  }

  expectEnd(): void {
    const t = this.peek();
    if (t.type !== 'end') {
      throw new QueryTextError(`unexpected ${describeToken(t)}; join conditions with AND or OR`, t.pos);
    }
  }

  condition(): Condition {
    let left = this.conjunction();
    while (this.isKeyword('OR')) {
      this.next();
      left = { kind: 'or', left, right: this.conjunction() };
    }
    return left;
  }

  private conjunction(): Condition {
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
    return this.primary();
  }

  private primary(): Condition {
    const t = this.peek();
    if (this.isPunct('(')) {
      this.next();
      const inner = this.condition();
      this.expectPunct(')', "')' to close the '(' opened before");
      return inner;
    }
    if (t.type === 'word' && this.isPunct('(', this.tokens[this.index + 1])) return this.call();
    const left = this.operand();
    if (this.isKeyword('IN') || this.isKeyword('NIN')) {
      const negated = this.isKeyword('NIN');
      this.next();
      return { kind: 'in', negated, operand: left, values: this.list() };
    }
    const op = this.next();
    if (op.type !== 'op') {
      const hint = op.type === 'end' ? '' : " (strings are quoted: tags.ring='canary')";
      throw new QueryTextError(
        `expected a comparison (= != < > <= >=) or IN after the operand, found ${describeToken(op)}${hint}`,
        op.pos,
      );
    }
    const right = this.operand();
    return { kind: 'compare', op: op.text === '<>' ? '!=' : op.text, left, right, pos: op.pos };
  }

  private call(): Condition {
    const t = this.next() as Extract<Token, { type: 'word' }>;
    const name = t.text.toUpperCase();
    const arity = FUNCTIONS[name];
    if (arity === undefined) {
      throw new QueryTextError(
        `unknown function ${t.text}; IoT Hub knows ${Object.keys(FUNCTIONS).join(', ')}`,
        t.pos,
      );
    }
    this.next(); // '('
    const args: Operand[] = [];
    if (!this.isPunct(')')) {
      args.push(this.operand());
      while (this.isPunct(',')) {
        this.next();
        args.push(this.operand());
      }
    }
    this.expectPunct(')', `')' after the arguments of ${name}`);
    if (args.length !== arity) {
      throw new QueryTextError(
        `${name} takes ${arity} argument${arity === 1 ? '' : 's'}, not ${args.length}`,
        t.pos,
      );
    }
    if (args[0]?.kind !== 'path')
      throw new QueryTextError(`the first argument of ${name} must be a twin path`, t.pos);
    return { kind: 'call', name, args, pos: t.pos };
  }

  private list(): Literal[] {
    this.expectPunct('[', "'[' to start the list of values");
    const values: Literal[] = [];
    if (!this.isPunct(']')) {
      for (;;) {
        const operand = this.operand();
        if (operand.kind !== 'literal')
          throw new QueryTextError('IN lists hold values, not paths', operand.pos);
        values.push(operand.value);
        if (!this.isPunct(',')) break;
        this.next();
      }
    }
    this.expectPunct(']', "']' to close the list (values are separated by commas)");
    return values;
  }

  operand(): Operand {
    const t = this.next();
    switch (t.type) {
      case 'string':
        return { kind: 'literal', value: t.value, pos: t.pos };
      case 'number':
        return { kind: 'literal', value: t.value, pos: t.pos };
      case 'word': {
        const upper = t.text.toUpperCase();
        if (upper === 'TRUE' || upper === 'FALSE')
          return { kind: 'literal', value: upper === 'TRUE', pos: t.pos };
        if (upper === 'NULL') return { kind: 'literal', value: null, pos: t.pos };
        if (KEYWORDS.has(upper))
          throw new QueryTextError(`expected a twin path or a value, found ${describeToken(t)}`, t.pos);
        return { kind: 'path', path: this.pathFrom(t.text), pos: t.pos };
      }
      case 'bracket':
        return { kind: 'path', path: this.pathFrom(t.text), pos: t.pos };
      default:
        throw new QueryTextError(`expected a twin path or a value, found ${describeToken(t)}`, t.pos);
    }
  }

  private pathFrom(first: string): string[] {
    const path = [first];
    while (this.isPunct('.')) {
      this.next();
      const t = this.next();
      if (t.type === 'word' || t.type === 'bracket') path.push(t.text);
      else throw new QueryTextError(`expected a name after '.', found ${describeToken(t)}`, t.pos);
    }
    return path;
  }

  selectList(): string[] {
    if (this.isPunct('*')) {
      this.next();
      return ['*'];
    }
    const paths: string[] = [];
    for (;;) {
      const operand = this.operand();
      if (operand.kind !== 'path') throw new QueryTextError('SELECT names twin paths', operand.pos);
      paths.push(operand.path.join('.'));
      if (!this.isPunct(',')) return paths;
      this.next();
    }
  }

  source(): 'devices' | 'devices.modules' {
    const t = this.next();
    if (t.type === 'word' && t.text.toLowerCase() === 'devices') {
      if (!this.isPunct('.')) return 'devices';
      this.next();
      const m = this.next();
      if (m.type === 'word' && m.text.toLowerCase() === 'modules') return 'devices.modules';
      throw new QueryTextError(`expected 'modules' after 'devices.', found ${describeToken(m)}`, m.pos);
    }
    throw new QueryTextError(
      `metric queries read FROM devices or devices.modules, not ${describeToken(t)}`,
      t.pos,
    );
  }

  isWhere(): boolean {
    return this.isKeyword('WHERE');
  }

  skip(): void {
    this.next();
  }
}

/** Parses a condition; throws QueryTextError with the offset of the problem. */
export function parseCondition(text: string): Condition {
  const parser = new Parser(tokenize(text));
  if (parser.atEnd()) throw new QueryTextError('the condition is empty', 0);
  const condition = parser.condition();
  parser.expectEnd();
  return condition;
}

/** Every twin path a condition reads, with its offset. */
export function conditionPaths(c: Condition): { path: string[]; pos: number }[] {
  const fromOperand = (o: Operand) => (o.kind === 'path' ? [{ path: o.path, pos: o.pos }] : []);
  switch (c.kind) {
    case 'and':
    case 'or':
      return [...conditionPaths(c.left), ...conditionPaths(c.right)];
    case 'not':
      return conditionPaths(c.operand);
    case 'compare':
      return [...fromOperand(c.left), ...fromOperand(c.right)];
    case 'in':
      return fromOperand(c.operand);
    case 'call':
      return c.args.flatMap(fromOperand);
  }
}

function targetPathProblem(path: string[]): string | undefined {
  const [root, second] = path;
  if (root === 'tags') return path.length >= 2 ? undefined : 'name a tag: tags.<name>';
  if (root === 'properties' && second === 'reported') {
    return path.length >= 3 ? undefined : 'name a reported property: properties.reported.<name>';
  }
  if (root === 'deviceId' && path.length === 1) return undefined;
  if (path.length === 1) return `'${root}' is neither a twin path nor a value: quote strings ('${root}')`;
  return `'${path.join('.')}' cannot be read by a target condition; use tags.<name>, properties.reported.<name> or deviceId`;
}

/** Parses a target condition and checks it reads only what IoT Hub lets it read. */
export function parseTargetCondition(text: string): Condition {
  const condition = parseCondition(text);
  for (const { path, pos } of conditionPaths(condition)) {
    const problem = targetPathProblem(path);
    if (problem) throw new QueryTextError(problem, pos);
  }
  const constant = findConstantComparison(condition);
  if (constant) throw new QueryTextError('this comparison has no twin path on either side', constant.pos);
  return condition;
}

function findConstantComparison(c: Condition): { pos: number } | undefined {
  switch (c.kind) {
    case 'and':
    case 'or':
      return findConstantComparison(c.left) ?? findConstantComparison(c.right);
    case 'not':
      return findConstantComparison(c.operand);
    case 'compare':
      return c.left.kind === 'literal' && c.right.kind === 'literal' ? { pos: c.pos } : undefined;
    default:
      return undefined;
  }
}

/** Parses `SELECT … FROM devices[.modules] [WHERE …]`, the shape of a deployment's metric queries. */
export function parseMetricQuery(text: string): MetricQuery {
  const parser = new Parser(tokenize(text));
  parser.expectKeyword('SELECT');
  const select = parser.selectList();
  parser.expectKeyword('FROM');
  const from = parser.source();
  let where: Condition | undefined;
  if (parser.isWhere()) {
    parser.skip();
    where = parser.condition();
  }
  parser.expectEnd();
  return { select, from, ...(where && { where }) };
}

/** A UsageError showing `text` with a caret under the problem: what the CLI prints for a bad condition. */
export function queryTextUsageError(
  code: string,
  what: string,
  text: string,
  error: QueryTextError,
): UsageError {
  const column = error.offset + 1;
  return new UsageError(
    code,
    `invalid ${what} at character ${column}: ${error.message}\n  ${text}\n  ${' '.repeat(error.offset)}^`,
    {
      hint: "target conditions read tags, reported properties and deviceId, e.g. tags.ring='canary' AND properties.reported.os IN ['linux']",
      details: { position: column },
    },
  );
}
