/** Tokens of IoT Hub's query language (target conditions and metric queries), with their offsets. */

/** A syntax or rule error with the 0-based offset into the text where it was found. */
export class QueryTextError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

export const COMPARISONS = new Set(['=', '!=', '<>', '<', '>', '<=', '>=']);

export type Token =
  | { type: 'word'; text: string; pos: number }
  | { type: 'bracket'; text: string; pos: number }
  | { type: 'string'; value: string; pos: number }
  | { type: 'number'; value: number; pos: number }
  | { type: 'op'; text: string; pos: number }
  | { type: 'punct'; text: string; pos: number }
  | { type: 'end'; pos: number };

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const pos = i;
    if (c === "'" || c === '"') {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new QueryTextError(`unterminated string (opened with ${c})`, pos);
        const ch = text[i] as string;
        if (ch === '\\' && i + 1 < text.length) {
          value += text[i + 1];
          i += 2;
        } else if (ch === c && text[i + 1] === c) {
          value += c;
          i += 2;
        } else if (ch === c) {
          i++;
          break;
        } else {
          value += ch;
          i++;
        }
      }
      tokens.push({ type: 'string', value, pos });
    } else if (text.startsWith('[[', i)) {
      const end = text.indexOf(']]', i + 2);
      if (end === -1) throw new QueryTextError("unterminated '[[' name (close it with ']]')", pos);
      tokens.push({ type: 'bracket', text: text.slice(i + 2, end), pos });
      i = end + 2;
    } else if (/[0-9]/.test(c) || (c === '-' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const match = /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?/.exec(text.slice(i));
      const literal = match?.[0] ?? c;
      tokens.push({ type: 'number', value: Number(literal), pos });
      i += literal.length;
    } else if (/[A-Za-z_$]/.test(c)) {
      const literal = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(text.slice(i))?.[0] ?? c;
      tokens.push({ type: 'word', text: literal, pos });
      i += literal.length;
    } else if ('<>!='.includes(c)) {
      const two = text.slice(i, i + 2);
      const op = COMPARISONS.has(two) ? two : c;
      if (!COMPARISONS.has(op))
        throw new QueryTextError(`'${c}' is not an operator (use = != <> < > <= >=)`, pos);
      tokens.push({ type: 'op', text: op, pos });
      i += op.length;
    } else if ('()[],.*'.includes(c)) {
      tokens.push({ type: 'punct', text: c, pos });
      i++;
    } else {
      throw new QueryTextError(`unexpected character '${c}'`, pos);
    }
  }
  tokens.push({ type: 'end', pos: text.length });
  return tokens;
}

export function describeToken(t: Token): string {
  switch (t.type) {
    case 'end':
      return 'the end of the text';
    case 'string':
      return `the string '${t.value}'`;
    case 'number':
      return `the number ${t.value}`;
    case 'bracket':
      return `[[${t.text}]]`;
    default:
      return `'${t.text}'`;
  }
}
