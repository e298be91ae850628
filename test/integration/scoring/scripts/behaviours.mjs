// One script, many behaviours, chosen by the request body's "do" field.
import { InputError } from 'modelport/scoring';

export function init() {}

export async function run(raw) {
  const body = JSON.parse(raw);
  switch (body.do) {
    case 'json-string':
      return JSON.stringify({ already: 'json' });
    case 'plain-string':
      return 'hello';
    case 'typed':
      return { values: Float32Array.from([1.5, 2.5]), big: 2n ** 60n };
    case 'throw':
      throw new Error('boom in run');
    case 'bad-input':
      throw new InputError('field x must be positive');
    case 'status-422':
      throw Object.assign(new Error('unprocessable'), { status: 422, code: 'NOPE' });
    case 'hang':
      while (body.do === 'hang') {} // a run() that never returns
      return null;
    case 'exit':
      process.exit(3);
      return null;
    case 'slow':
      await new Promise((r) => setTimeout(r, body.ms ?? 50));
      return { slept: body.ms ?? 50 };
    default:
      return { echo: body };
  }
}
