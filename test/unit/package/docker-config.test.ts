import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dockerLoginCredentials } from '../../../cloud/package/docker-config.js';
import { parseImageRef } from '../../../cloud/package/image-ref.js';
import { tempDir } from '../../support/tmp.js';

let work: ReturnType<typeof tempDir> | undefined;
afterEach(() => work?.cleanup());

function configDir(auths: Record<string, unknown>): string {
  work = tempDir('docker-config');
  mkdirSync(join(work.path, 'cfg'));
  writeFileSync(join(work.path, 'cfg', 'config.json'), JSON.stringify({ auths, credsStore: 'desktop' }));
  return join(work.path, 'cfg');
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('dockerLoginCredentials', () => {
  it('finds the entry of the image registry, whatever scheme or path its key has', () => {
    const dir = configDir({
      'https://myregistry.azurecr.io/v2/': { auth: b64('acr-user:s3:cr3t') },
      '127.0.0.1:5000': { username: 'u', password: 'p' },
      'https://index.docker.io/v1/': { auth: b64('hub:token') },
      'creds-in-helper.example.com': {},
    });
    const env = { DOCKER_CONFIG: dir };
    expect(dockerLoginCredentials(env, parseImageRef('myregistry.azurecr.io/scoring:1'))).toEqual({
      username: 'acr-user',
      password: 's3:cr3t',
    });
    expect(dockerLoginCredentials(env, parseImageRef('127.0.0.1:5000/x:1'))).toEqual({
      username: 'u',
      password: 'p',
    });
    expect(dockerLoginCredentials(env, parseImageRef('team/scoring:1'))).toEqual({
      username: 'hub',
      password: 'token',
    });
    expect(dockerLoginCredentials(env, parseImageRef('creds-in-helper.example.com/x:1'))).toBeUndefined();
    expect(dockerLoginCredentials(env, parseImageRef('other.example.com/x:1'))).toBeUndefined();
  });

  it('is empty without a config file', () => {
    work = tempDir('docker-config');
    expect(dockerLoginCredentials({ DOCKER_CONFIG: work.path }, parseImageRef('a.io/x:1'))).toBeUndefined();
  });
});
