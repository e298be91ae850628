import { describe, expect, it } from 'vitest';
import {
  BuildStreamParser,
  classifyTransferError,
  type EngineMessage,
  TransferStreamParser,
} from '../../../cloud/package/engine-streams.js';
import type { PackageEvent } from '../../../cloud/package/progress.js';
import { redact } from '../../../cloud/package/redact.js';

/** A failing classic-builder stream as dockerd 20.10 sends it (step header and newline arrive apart). */
const FAILED_BUILD: EngineMessage[] = [
  { stream: 'Step 1/3 : FROM modelport-test/node-base:20' },
  { stream: '\n' },
  { stream: ' ---> 44e96c723da3\n' },
  { stream: 'Step 2/3 : COPY app/ /var/azureml-app/' },
  { stream: '\n' },
  { stream: ' ---> 084f5525bc9d\n' },
  { stream: 'Step 3/3 : RUN node -e "console.log(1); process.exit(3)"' },
  { stream: '\n' },
  { stream: ' ---> Running in 960544d5e8bf\n' },
  { stream: '1\npartial line without newline' },
  { stream: '\nRemoving intermediate container 960544d5e8bf\n' },
  {
    errorDetail: { code: 3, message: "The command '/bin/sh -c node -e ...' returned a non-zero code: 3" },
    error: "The command '/bin/sh -c node -e ...' returned a non-zero code: 3",
  },
];

describe('BuildStreamParser', () => {
  it('reports steps and, on failure, the failing step with its output', () => {
    const events: PackageEvent[] = [];
    const parser = new BuildStreamParser((e) => events.push(e));
    for (const m of FAILED_BUILD) parser.push(m);
    parser.end();
    expect(events.filter((e) => e.kind === 'build-step')).toEqual([
      { kind: 'build-step', number: 1, total: 3, instruction: 'FROM modelport-test/node-base:20' },
      { kind: 'build-step', number: 2, total: 3, instruction: 'COPY app/ /var/azureml-app/' },
      {
        kind: 'build-step',
        number: 3,
        total: 3,
        instruction: 'RUN node -e "console.log(1); process.exit(3)"',
      },
    ]);
    expect(parser.imageId).toBeUndefined();
    expect(parser.failure).toEqual({
      message: "The command '/bin/sh -c node -e ...' returned a non-zero code: 3",
      step: { number: 3, total: 3, instruction: 'RUN node -e "console.log(1); process.exit(3)"' },
      output: [
        ' ---> Running in 960544d5e8bf',
        '1',
        'partial line without newline',
        'Removing intermediate container 960544d5e8bf',
      ],
    });
  });

  it('takes the image id from aux, or from the closing line of older engines', () => {
    const withAux = new BuildStreamParser(() => undefined);
    withAux.push({ stream: 'Step 1/1 : FROM x\n' });
    withAux.push({ aux: { ID: `sha256:${'c'.repeat(64)}` } });
    withAux.push({ stream: 'Successfully built cccccccccccc\n' });
    withAux.end();
    expect(withAux.imageId).toBe(`sha256:${'c'.repeat(64)}`);
    expect(withAux.failure).toBeUndefined();
    const old = new BuildStreamParser(() => undefined);
    old.push({ stream: 'Successfully built 0123456789ab\n' });
    old.end();
    expect(old.imageId).toBe('0123456789ab');
  });
});

describe('TransferStreamParser', () => {
  it('turns a push into layer progress and keeps the digest', () => {
    const events: PackageEvent[] = [];
    const parser = new TransferStreamParser('push', (e) => events.push(e));
    const digest = `sha256:${'d'.repeat(64)}`;
    for (const m of [
      { status: 'The push refers to repository [127.0.0.1:5000/r10]' },
      { status: 'Preparing', progressDetail: {}, id: 'aaa' },
      { status: 'Pushing', progressDetail: { current: 512, total: 2048 }, id: 'aaa' },
      { status: 'Pushed', progressDetail: {}, id: 'aaa' },
      { status: 'Layer already exists', progressDetail: {}, id: 'bbb' },
      { status: `1: digest: ${digest} size: 1234` },
      { progressDetail: {}, aux: { Tag: '1', Digest: digest, Size: 1234 } },
    ] satisfies EngineMessage[]) {
      parser.push(m);
    }
    expect(parser.error).toBeUndefined();
    expect(parser.digest).toBe(digest);
    expect(events.filter((e) => e.kind === 'layer')).toEqual([
      { kind: 'layer', direction: 'push', id: 'aaa', status: 'Preparing' },
      { kind: 'layer', direction: 'push', id: 'aaa', status: 'Pushing', current: 512, total: 2048 },
      { kind: 'layer', direction: 'push', id: 'aaa', status: 'Pushed' },
      { kind: 'layer', direction: 'push', id: 'bbb', status: 'Layer already exists' },
    ]);
  });

  it('keeps the error line', () => {
    const parser = new TransferStreamParser('push', () => undefined);
    parser.push({ errorDetail: { message: 'unauthorized: authentication required' }, error: 'x' });
    expect(parser.error).toBe('unauthorized: authentication required');
  });
});

describe('classifyTransferError', () => {
  it.each([
    ['unauthorized: authentication required', 'auth'],
    ['denied: requested access to the resource is denied', 'auth'],
    ['Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused', 'unreachable'],
    ['Get "https://nope.invalid/v2/": dial tcp: lookup nope.invalid: no such host', 'unreachable'],
    ['manifest for 127.0.0.1:5000/base:9 not found: manifest unknown: manifest unknown', 'not-found'],
    ['blob upload invalid', 'other'],
  ])('%s → %s', (message, kind) => {
    expect(classifyTransferError(message)).toBe(kind);
  });
});

describe('redact', () => {
  it('removes every form of each secret', () => {
    const secret = 'p@ss "w/rd"';
    const text = `a ${secret} b ${encodeURIComponent(secret)} c ${JSON.stringify(secret)}`;
    const out = redact(text, [secret, '']);
    expect(out).not.toContain('p@ss');
    expect(out).not.toContain(encodeURIComponent('p@ss'));
    expect(out).toContain('***');
    expect(redact('nothing here', [])).toBe('nothing here');
  });
});
