import { describe, expect, it } from 'vitest';
import { authServerAddress, parseImageRef } from '../../../cloud/package/image-ref.js';
import { parsePlatform } from '../../../cloud/package/platform.js';

describe('parseImageRef', () => {
  it.each([
    [
      '127.0.0.1:5000/team/scoring:1.0',
      '127.0.0.1:5000',
      'team/scoring',
      '1.0',
      '127.0.0.1:5000/team/scoring',
    ],
    [
      'myregistry.azurecr.io/scoring:v2',
      'myregistry.azurecr.io',
      'scoring',
      'v2',
      'myregistry.azurecr.io/scoring',
    ],
    ['localhost/scoring', 'localhost', 'scoring', 'latest', 'localhost/scoring'],
    ['scoring:1', undefined, 'library/scoring', '1', 'scoring'],
    ['team/scoring:1', undefined, 'team/scoring', '1', 'team/scoring'],
    ['[::1]:5000/a/b:c', '[::1]:5000', 'a/b', 'c', '[::1]:5000/a/b'],
    [
      'reg.example.com:443/a__b/c-d.e:1_2.3-4',
      'reg.example.com:443',
      'a__b/c-d.e',
      '1_2.3-4',
      'reg.example.com:443/a__b/c-d.e',
    ],
  ])('%s', (text, registry, repository, tag, name) => {
    const ref = parseImageRef(text);
    expect(ref).toMatchObject({ registry, repository, tag, name, reference: `${name}:${tag}` });
  });

  it.each([
    ['team/Scoring:1', 'lowercase'],
    ['scoring:', 'tag'],
    ['scoring:-x', 'tag'],
    ['a//b:1', 'lowercase'],
    [`scoring:1@sha256:${'a'.repeat(64)}`, 'digest'],
    [`scoring:${'x'.repeat(129)}`, 'tag'],
    ['bad_host!:5000/x:1', 'host\\[:port\\]'],
  ])('refuses %s', (text, why) => {
    expect(() => parseImageRef(text)).toThrow(
      expect.objectContaining({ code: 'IMAGE_REF_INVALID', exitCode: 2 }),
    );
    expect(() => parseImageRef(text)).toThrow(new RegExp(why));
  });

  it('accepts a pinned digest for base images only', () => {
    const digest = `sha256:${'b'.repeat(64)}`;
    const ref = parseImageRef(`node:20@${digest}`, '--base-image', true);
    expect(ref).toMatchObject({ name: 'node', digest, reference: `node:20@${digest}` });
    expect(() => parseImageRef('node@sha256:xyz', '--base-image', true)).toThrow(/not a digest/);
  });

  it('names Docker Hub by its login address when there is no registry host', () => {
    expect(authServerAddress(parseImageRef('team/scoring:1'))).toBe('https://index.docker.io/v1/');
    expect(authServerAddress(parseImageRef('127.0.0.1:5000/x:1'))).toBe('127.0.0.1:5000');
  });
});

describe('parsePlatform', () => {
  it('knows both platforms and their aliases', () => {
    expect(parsePlatform('linux/amd64')).toMatchObject({ nodeArch: 'x64', template: 'Dockerfile' });
    expect(parsePlatform('linux/arm64/v8')).toMatchObject({
      platform: 'linux/arm64',
      template: 'Dockerfile.arm64',
    });
    expect(parsePlatform('arm64v8').dockerArch).toBe('arm64');
  });

  it('refuses others, naming the supported ones', () => {
    expect(() => parsePlatform('linux/arm/v7')).toThrow(/linux\/amd64, linux\/arm64/);
    expect(() => parsePlatform('windows/amd64')).toThrow(
      expect.objectContaining({ code: 'PLATFORM_UNSUPPORTED' }),
    );
  });
});
