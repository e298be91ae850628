/** A deployment spec's `collect` → the manifest's module env → what the scoring module reads. */
import { describe, expect, it } from 'vitest';
import { collectEnv } from '../../../cloud/manifest/model-module.js';
import { collectFromEnv } from '../../../modules/scoring/collect/settings.js';

const UNDER_EDGE = { EdgeHubConnectionString: 'HostName=h;DeviceId=d;ModuleId=m;SharedAccessKey=a2V5' };

describe('collect settings from the spec to the module', () => {
  it('carries rate and fields through the env the scoring module reads', () => {
    const env = collectEnv({ rate: 0.1, fields: { customerId: 'hash', ssn: 'drop' } });
    expect(env).toEqual({
      MODELPORT_COLLECT_RATE: '0.1',
      MODELPORT_COLLECT_FIELDS: '{"customerId":"hash","ssn":"drop"}',
    });
    expect(collectFromEnv({ ...UNDER_EDGE, ...env }).collect).toMatchObject({
      rate: 0.1,
      fields: { customerId: 'hash', ssn: 'drop' },
      target: { kind: 'edge-hub', output: 'collect' },
    });
  });

  it('collect without a rate collects everything; rate 0 and no collect collect nothing', () => {
    expect(collectEnv({ fields: { a: 'drop' } }).MODELPORT_COLLECT_RATE).toBe('1');
    expect(collectFromEnv({ ...UNDER_EDGE, ...collectEnv({}) }).collect?.rate).toBe(1);
    expect(collectFromEnv({ ...UNDER_EDGE, ...collectEnv({ rate: 0 }) })).toEqual({});
    expect(collectEnv(undefined)).toEqual({});
  });
});
