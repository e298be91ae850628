/**
 * The part of IoT Hub's query language that configurations use: target conditions
 * (`tags.environment='prod' AND properties.reported.os IN ['linux', 'windows']`) and the
 * `SELECT … FROM devices[.modules] [WHERE …]` queries of metrics and of `/devices/query`.
 *
 * Supported: comparisons `= != <> < > <= >=` between paths and literals (single-quoted strings,
 * numbers, true, false, null), `AND` / `OR` / `NOT`, parentheses, `IN [..]` / `NIN [..]`, and the
 * functions IS_DEFINED, IS_NULL, IS_BOOL, IS_NUMBER, IS_STRING, IS_OBJECT, IS_PRIMITIVE,
 * STARTS_WITH, ENDS_WITH. Paths are dotted identifiers (`$` and `_` allowed) with `[[any text]]`
 * segments for names with other characters (`configurations.[[my-deploy]].status`).
 *
 * Evaluation follows IoT Hub's (Cosmos DB's) three-valued logic: a comparison with a missing
 * property or across types is *undefined*, `NOT undefined` is undefined, and only conditions that
 * evaluate to true select a twin. Pure functions, no I/O.
 */
import { isJsonObject, type Json } from './json-doc.js';
import {
  type ComparisonOp,
  type Condition,
  ConditionSyntaxError,
  type FunctionName,
  type Literal,
  type Operand,
  Parser,
  type Query,
  tokenize,
} from './query-syntax.js';

export type { ComparisonOp, Condition, FunctionName, Literal, Operand, Query } from './query-syntax.js';
export { ConditionSyntaxError } from './query-syntax.js';

/** Parses a target condition. `*` selects every twin; an empty condition is a syntax error. */
export function parseCondition(text: string): Condition {
  if (text.trim() === '*') return { kind: 'all' };
  if (text.trim() === '') throw new ConditionSyntaxError('The condition is empty', 0);
  const parser = new Parser(tokenize(text));
  const condition = parser.or();
  parser.expectEnd();
  return condition;
}

export function parseQuery(text: string): Query {
  return new Parser(tokenize(text)).query();
}

/** Every property path a condition reads, dotted (for "target conditions may only use tags…" checks). */
export function conditionPaths(condition: Condition): string[][] {
  switch (condition.kind) {
    case 'all':
      return [];
    case 'and':
    case 'or':
      return [...conditionPaths(condition.left), ...conditionPaths(condition.right)];
    case 'not':
      return conditionPaths(condition.operand);
    case 'compare':
      return [condition.left, condition.right].flatMap(operandPaths);
    case 'in':
      return operandPaths(condition.operand);
    case 'call':
      return condition.args.flatMap(operandPaths);
  }
}

function operandPaths(operand: Operand): string[][] {
  return operand.kind === 'path' ? [operand.path] : [];
}

/** Three-valued: true, false or undefined (a missing property or a comparison across types). */
type Truth = boolean | undefined;

/** True when the condition selects the document (a twin in IoT Hub's JSON shape). */
export function evaluateCondition(condition: Condition, doc: Json): boolean {
  return evaluate(condition, doc) === true;
}

function evaluate(c: Condition, doc: Json): Truth {
  switch (c.kind) {
    case 'all':
      return true;
    case 'and': {
      const l = evaluate(c.left, doc);
      const r = evaluate(c.right, doc);
      if (l === false || r === false) return false;
      return l === undefined || r === undefined ? undefined : true;
    }
    case 'or': {
      const l = evaluate(c.left, doc);
      const r = evaluate(c.right, doc);
      if (l === true || r === true) return true;
      return l === undefined || r === undefined ? undefined : false;
    }
    case 'not': {
      const v = evaluate(c.operand, doc);
      return v === undefined ? undefined : !v;
    }
    case 'compare':
      return compare(c.op, resolve(c.left, doc), resolve(c.right, doc));
    case 'in': {
      const value = resolve(c.operand, doc);
      if (value === undefined || !isPrimitive(value)) return undefined;
      const found = c.values.some((v) => compare('=', value, v) === true);
      return c.negated ? !found : found;
    }
    case 'call':
      return callFunction(
        c.name,
        c.args.map((a) => resolve(a, doc)),
      );
  }
}

function resolve(operand: Operand, doc: Json): Json | undefined {
  if (operand.kind === 'literal') return operand.value;
  let cursor: Json | undefined = doc;
  for (const step of operand.path) {
    if (!isJsonObject(cursor)) return undefined;
    cursor = cursor[step];
  }
  return cursor;
}

function isPrimitive(value: Json): value is Literal {
  return value === null || typeof value !== 'object';
}

function compare(op: ComparisonOp, a: Json | undefined, b: Json | undefined): Truth {
  if (a === undefined || b === undefined) return undefined;
  if (!isPrimitive(a) || !isPrimitive(b)) return undefined;
  if (a === null || b === null) {
    if (op === '=') return a === b;
    if (op === '!=') return a !== b;
    return undefined;
  }
  if (typeof a !== typeof b) return undefined;
  switch (op) {
    case '=':
      return a === b;
    case '!=':
      return a !== b;
    case '<':
      return a < b;
    case '>':
      return a > b;
    case '<=':
      return a <= b;
    case '>=':
      return a >= b;
  }
}

function callFunction(name: FunctionName, args: (Json | undefined)[]): Truth {
  const [a, b] = args;
  switch (name) {
    case 'IS_DEFINED':
      return a !== undefined;
    case 'IS_NULL':
      return a === null;
    case 'IS_BOOL':
      return typeof a === 'boolean';
    case 'IS_NUMBER':
      return typeof a === 'number';
    case 'IS_STRING':
      return typeof a === 'string';
    case 'IS_OBJECT':
      return isJsonObject(a ?? null);
    case 'IS_PRIMITIVE':
      return a !== undefined && isPrimitive(a);
    case 'STARTS_WITH':
      return typeof a === 'string' && typeof b === 'string' ? a.startsWith(b) : undefined;
    case 'ENDS_WITH':
      return typeof a === 'string' && typeof b === 'string' ? a.endsWith(b) : undefined;
  }
}
