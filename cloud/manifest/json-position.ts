/**
 * Where a JSON text stops being JSON. JSON.parse reports positions only in some V8 messages
 * ("… in JSON at position 12") and not in others ("Unexpected token ',', … is not valid JSON"), so a
 * manifest's syntax error is located here, by a small scan over the JSON grammar (RFC 8259).
 */

export interface JsonSyntaxProblem {
  /** 0-based offset of the first character that cannot continue the document. */
  offset: number;
  line: number;
  column: number;
  message: string;
}

class Scan {
  i = 0;
  constructor(private readonly text: string) {}

  fail(message: string): never {
    throw new JsonStop(this.i, message);
  }

  ws(): void {
    while (this.i < this.text.length && ' \t\n\r'.includes(this.text[this.i] as string)) this.i++;
  }

  peek(): string | undefined {
    return this.text[this.i];
  }

  value(): void {
    this.ws();
    const c = this.peek();
    if (c === '{') this.object();
    else if (c === '[') this.array();
    else if (c === '"') this.string();
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) this.number();
    else this.literal(c);
  }

  literal(c: string | undefined): void {
    for (const word of ['true', 'false', 'null']) {
      if (this.text.startsWith(word, this.i)) {
        this.i += word.length;
        return;
      }
    }
    this.fail(
      c === undefined ? 'the document ends where a value was expected' : `'${c}' cannot start a value`,
    );
  }

  object(): void {
    this.i++;
    this.ws();
    if (this.peek() === '}') {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.peek() !== '"') this.fail('expected a property name in double quotes');
      this.string();
      this.ws();
      if (this.peek() !== ':') this.fail("expected ':' after the property name");
      this.i++;
      this.value();
      this.ws();
      const c = this.peek();
      this.i++;
      if (c === '}') return;
      if (c !== ',') {
        this.i--;
        this.fail("expected ',' or '}' after a property value");
      }
      this.ws();
      if (this.peek() === '}') this.fail("a trailing ',' before '}' is not allowed in JSON");
    }
  }

  array(): void {
    this.i++;
    this.ws();
    if (this.peek() === ']') {
      this.i++;
      return;
    }
    for (;;) {
      this.value();
      this.ws();
      const c = this.peek();
      this.i++;
      if (c === ']') return;
      if (c !== ',') {
        this.i--;
        this.fail("expected ',' or ']' after an array element");
      }
      this.ws();
      if (this.peek() === ']') this.fail("a trailing ',' before ']' is not allowed in JSON");
    }
  }

  string(): void {
    this.i++;
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.fail('unterminated string');
      if (c === '"') {
        this.i++;
        return;
      }
      if (c === '\\') {
        const e = this.text[this.i + 1];
        if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(this.text.slice(this.i + 2, this.i + 6))) this.i += 6;
        else if (e !== undefined && '"\\/bfnrt'.includes(e)) this.i += 2;
        else this.fail('invalid escape in a string');
      } else if (c < ' ') this.fail('control characters must be escaped in strings');
      else this.i++;
    }
  }

  number(): void {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/.exec(this.text.slice(this.i));
    if (!m) this.fail('invalid number');
    this.i += m[0].length;
  }
}

class JsonStop {
  constructor(
    readonly offset: number,
    readonly message: string,
  ) {}
}

/** The first syntax problem in `text`, or undefined when it is one JSON document. */
export function jsonSyntaxProblem(text: string): JsonSyntaxProblem | undefined {
  const scan = new Scan(text);
  try {
    scan.value();
    scan.ws();
    if (scan.i < text.length) scan.fail('unexpected text after the JSON document');
    return undefined;
  } catch (e) {
    if (!(e instanceof JsonStop)) throw e;
    const before = text.slice(0, e.offset);
    const line = before.split('\n').length;
    return { offset: e.offset, line, column: e.offset - before.lastIndexOf('\n'), message: e.message };
  }
}
