import { describe, expect, it } from 'vitest';
import { normalizeImageRef, recreateReason, specHash, specParts } from '../../../agent/reconcile/spec.js';
import { containerCreateBody } from '../../../agent/runtime/container-spec.js';
import { dockerTime } from '../../../agent/runtime/current-state.js';
import { demux } from '../../../agent/runtime/docker-adapter.js';
import { describeExit, lastErrorLine } from '../../../agent/runtime/failure-detail.js';
import { authFor, registryOf } from '../../../agent/runtime/pull.js';
import { mod } from '../../helpers/state.js';

describe('containerCreateBody', () => {
  const m = mod('scorer', {
    image: 'reg.test/scorer:2',
    env: { MODELPORT_PORT: '5001', LEVEL: 'info' },
    binds: ['/var/lib/hub/ca.pem:/hub/ca.pem:ro'],
    createOptions: {
      Env: ['LEVEL=debug', 'KEEP=1'],
      Labels: { team: 'vision' },
      HostConfig: { NetworkMode: 'host', Binds: ['/data:/data'], RestartPolicy: { Name: 'always' } },
      ExposedPorts: { '5001/tcp': {} },
    },
  });
  const body = containerCreateBody(m, {
    agentId: 'edge-1',
    deployment: '7',
    specHash: specHash(m),
    specParts: specParts(m),
  });

  it('names the container after the module and keeps the manifest createOptions', () => {
    expect(body.name).toBe('scorer');
    expect(body.Image).toBe('reg.test/scorer:2');
    expect(body.ExposedPorts).toEqual({ '5001/tcp': {} });
    expect(body.HostConfig?.NetworkMode).toBe('host');
  });

  it('merges env: createOptions.Env first, the manifest env winning for the same name', () => {
    expect(body.Env).toEqual(['KEEP=1', 'MODELPORT_PORT=5001', 'LEVEL=info']);
  });

  it('adds the provider binds and forces Docker restart policy "no" (the agent restarts)', () => {
    expect(body.HostConfig?.Binds).toEqual(['/data:/data', '/var/lib/hub/ca.pem:/hub/ca.pem:ro']);
    expect(body.HostConfig?.RestartPolicy).toEqual({ Name: 'no' });
  });

  it('labels the container so it is found by labels only', () => {
    expect(body.Labels).toEqual({
      team: 'vision',
      'modelport.managed': 'true',
      'modelport.agent': 'edge-1',
      'modelport.module': 'scorer',
      'modelport.deployment': '7',
      'modelport.version': '1.0',
      'modelport.spec-hash': specHash(m),
      'modelport.spec-parts': JSON.stringify(specParts(m)),
      'modelport.desired-status': 'running',
      'modelport.restart-policy': 'always',
    });
  });

  it('does not change the module it was given', () => {
    expect(m.createOptions['Env']).toEqual(['LEVEL=debug', 'KEEP=1']);
  });
});

describe('spec hash', () => {
  it('ignores key order in env and createOptions', () => {
    const a = mod('a', { env: { X: '1', Y: '2' }, createOptions: { A: 1, B: { C: 2, D: 3 } } });
    const b = mod('a', { env: { Y: '2', X: '1' }, createOptions: { B: { D: 3, C: 2 }, A: 1 } });
    expect(specHash(a)).toBe(specHash(b));
  });

  it('does not change with status, restart policy or startupOrder (no recreate for those)', () => {
    const a = mod('a');
    expect(specHash(mod('a', { status: 'stopped', restartPolicy: 'never', startupOrder: 1 }))).toBe(
      specHash(a),
    );
  });

  it('names every part that changed', () => {
    const old = specParts(mod('a'));
    expect(recreateReason(old, specParts(mod('a', { image: 'x:2', env: { A: '1' }, version: '2' })))).toBe(
      'image registry.test/a:1 → x:2, version 1.0 → 2, env changed',
    );
  });

  it.each([
    ['node', 'node:latest'],
    ['docker.io/library/node:20', 'node:20'],
    ['index.docker.io/me/app', 'me/app:latest'],
    ['127.0.0.1:5000/a/b', '127.0.0.1:5000/a/b:latest'],
    ['reg.test:443/a@sha256:abc', 'reg.test:443/a@sha256:abc'],
  ])('normalizes %s to %s', (ref, normalized) => {
    expect(normalizeImageRef(ref)).toBe(normalized);
  });
});

describe('registry credentials', () => {
  const credentials = {
    acr: { address: 'myacr.azurecr.io', username: 'u', password: 'p' },
    hub: { address: 'https://index.docker.io/v1/', username: 'h', password: 'q' },
    local: { address: '127.0.0.1:5000', username: 'l', password: 'r' },
  };

  it.each([
    ['myacr.azurecr.io/vision/scorer:1', 'myacr.azurecr.io', 'u'],
    ['me/app:1', 'docker.io', 'h'],
    ['127.0.0.1:5000/a:1', '127.0.0.1:5000', 'l'],
    ['other.io/a:1', 'other.io', undefined],
  ])('%s is pulled from %s with the matching credential', (image, registry, username) => {
    expect(registryOf(image)).toBe(registry);
    expect(authFor(image, credentials)?.username).toBe(username);
  });
});

describe('failure detail', () => {
  const lines = (...texts: string[]) => texts.map((text) => ({ stream: 'stderr' as const, time: '', text }));

  it('takes the last error from pino JSON lines, with the error message', () => {
    const detail = lastErrorLine(
      lines(
        '{"level":30,"msg":"loading"}',
        '{"level":50,"msg":"cannot load model","err":{"message":"file not found"}}',
        '{"level":30,"msg":"bye"}',
      ),
    );
    expect(detail).toBe('cannot load model: file not found');
  });

  it('uses plain lines as written, preferring ones that look like errors', () => {
    expect(lastErrorLine(lines('Error: ENOENT model.onnx', 'exiting'))).toBe('Error: ENOENT model.onnx');
    expect(lastErrorLine(lines('starting', 'exiting'))).toBe('exiting');
  });

  it('reports exit code 78 as a model integrity failure', () => {
    const detail = describeExit(
      78,
      lines(
        `{"level":60,"msg":"model integrity check failed: model 'm' version 1: expected sha256:aa, found sha256:bb"}`,
      ),
    );
    expect(detail).toBe(
      "model integrity check failed: model 'm' version 1: expected sha256:aa, found sha256:bb",
    );
    expect(describeExit(78, [])).toBe('model integrity check failed: see the module logs');
  });

  it('says how other containers exited', () => {
    expect(describeExit(137, [])).toBe('exited with code 137');
    expect(describeExit(1, lines('panic: out of memory'))).toBe('exited with code 1: panic: out of memory');
  });
});

describe('Docker data', () => {
  it("reads Docker's zero time as never", () => {
    expect(dockerTime('0001-01-01T00:00:00Z')).toBeUndefined();
    expect(dockerTime('2030-01-01T00:00:00.5Z')).toBe(Date.UTC(2030, 0, 1) + 500);
  });

  it('demultiplexes log frames, joining frames of one stream', () => {
    const frame = (kind: number, text: string) => {
      const body = Buffer.from(text);
      const header = Buffer.alloc(8);
      header[0] = kind;
      header.writeUInt32BE(body.length, 4);
      return Buffer.concat([header, body]);
    };
    const raw = Buffer.concat([frame(1, 'hel'), frame(1, 'lo\n'), frame(2, 'oops\n')]);
    expect(demux(raw)).toEqual([
      { stream: 'stdout', text: 'hello\n' },
      { stream: 'stderr', text: 'oops\n' },
    ]);
  });
});
