/**
 * Tokens of edgeHub's route language: `FROM /messages/modules/m/outputs/o WHERE a = 'x' INTO $upstream`.
 * Keywords are words compared case-insensitively by the parser; a source path is one token.
 */
import { RouteSyntaxError } from './errors.js';

export type TokenKind = 'word' | 'system' | 'path' | 'string' | 'number' | 'op' | 'punct' | 'end';

export interface Token {
  kind: TokenKind;
  /** Strings unquoted, everything else as written. */
  text: string;
  position: number;
}

const WORD_START = /[A-Za-z_]/;
const WORD_PART = /[A-Za-z0-9_\-.]/;
const OPERATORS = ['<>', '!=', '<=', '>=', '=', '<', '>'];

export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i] as string;
    if (/\s/.test(c)) {
      i += 1;
      continue;
    }
    const start = i;
    if (c === '/') {
      while (i < source.length && !/\s/.test(source[i] as string)) i += 1;
      tokens.push({ kind: 'path', text: source.slice(start, i), position: start });
    } else if (c === "'" || c === '"') {
      const [text, end] = readString(source, i);
      tokens.push({ kind: 'string', text, position: start });
      i = end;
    } else if (/[0-9]/.test(c) || (c === '-' && /[0-9]/.test(source[i + 1] ?? ''))) {
      i += 1;
      while (i < source.length && /[0-9.eE+-]/.test(source[i] as string)) i += 1;
      const text = source.slice(start, i);
      if (!Number.isFinite(Number(text))) throw new RouteSyntaxError(`'${text}' is not a number`, start);
      tokens.push({ kind: 'number', text, position: start });
    } else if (c === '$' || WORD_START.test(c)) {
      i += 1;
      while (i < source.length && WORD_PART.test(source[i] as string)) i += 1;
      const text = source.slice(start, i);
      if (text === '$') throw new RouteSyntaxError("'$' must begin a system property or $upstream", start);
      tokens.push({ kind: c === '$' ? 'system' : 'word', text, position: start });
    } else if (c === '(' || c === ')' || c === ',' || c === '[' || c === ']') {
      tokens.push({ kind: 'punct', text: c, position: start });
      i += 1;
    } else {
      const op = OPERATORS.find((o) => source.startsWith(o, i));
      if (!op) throw new RouteSyntaxError(`unexpected character '${c}'`, start);
      tokens.push({ kind: 'op', text: op, position: start });
      i += op.length;
    }
  }
  tokens.push({ kind: 'end', text: '', position: source.length });
  return tokens;
}

/** A quoted string; the quote is escaped by doubling it (`'it''s'`) or with a backslash. */
function readString(source: string, start: number): [string, number] {
  const quote = source[start] as string;
  let out = '';
  let i = start + 1;
  while (i < source.length) {
    const c = source[i] as string;
    if (c === '\\' && i + 1 < source.length) {
      out += source[i + 1];
      i += 2;
    } else if (c === quote) {
      if (source[i + 1] === quote) {
        out += quote;
        i += 2;
      } else return [out, i + 1];
    } else {
      out += c;
      i += 1;
    }
  }
  throw new RouteSyntaxError('a string is not closed', start);
}
