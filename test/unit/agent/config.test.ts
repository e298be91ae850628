import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../agent/config.js';
import { parseModuleConnectionString } from '../../../agent/twin/connection-string.js';

const CS = 'HostName=hub.example.net;DeviceId=edge-7;ModuleId=$edgeAgent;SharedAccessKey=a2V5';
const quiet = { writeOut: () => undefined, writeErr: () => undefined };
const resolve = (argv: string[], env: NodeJS.ProcessEnv = {}) => resolveConfig(argv, env, '1.2.3', quiet);

describe('resolveConfig', () => {
  it('offline mode with defaults', () => {
    const c = resolve(['--manifest', 'd.json'], { HOME: '/home/op' });
    expect(c).toMatchObject({
      mode: 'file',
      manifest: 'd.json',
      agentId: 'local',
      healthWindowMs: 60_000,
      healthStableMs: 10_000,
      restartCoolOffMs: 10_000,
      maxRestarts: 20,
      intervalMs: 5_000,
      logLevel: 'info',
    });
  });

  it('hub mode takes the device id from the connection string', () => {
    const c = resolve(['--connection-string', CS, '--ca', 'ca.pem']);
    expect(c).toMatchObject({
      mode: 'hub',
      agentId: 'edge-7',
      deviceId: 'edge-7',
      hostName: 'hub.example.net',
      caFile: 'ca.pem',
    });
  });

  it('flags beat environment variables, which beat defaults', () => {
    const env = {
      MODELPORT_AGENT_HOME: '/var/lib/a',
      MODELPORT_AGENT_HEALTH_WINDOW: '30',
      MODELPORT_AGENT_MANIFEST: 'env.json',
    };
    const c = resolve(['--health-window', '5'], env);
    expect(c).toMatchObject({ home: '/var/lib/a', healthWindowMs: 5_000, manifest: 'env.json' });
  });

  it.each([
    [[], /exactly one of --manifest FILE \(offline\) or --connection-string CS/],
    [['--manifest', 'a', '--connection-string', CS], /exactly one of/],
    [['--connection-string', 'HostName=h;DeviceId=d'], /lacks ModuleId, SharedAccessKey/],
    [
      ['--connection-string', CS.replace('$edgeAgent', 'scorer')],
      /is for module 'scorer', not '\$edgeAgent'/,
    ],
  ])('rejects %j with a usage error', (argv, message) => {
    expect(() => resolve(argv)).toThrow(message);
    try {
      resolve(argv);
    } catch (e) {
      expect((e as { exitCode: number }).exitCode).toBe(2);
    }
  });

  it('rejects a bad number in a flag (commander) and in the environment (usage error)', () => {
    expect(() => resolve(['--manifest', 'a', '--health-window', 'soon'])).toThrow(
      /expected a number of seconds/,
    );
    expect(() => resolve(['--manifest', 'a'], { MODELPORT_AGENT_MAX_RESTARTS: '0' })).toThrow(
      'MODELPORT_AGENT_MAX_RESTARTS=0: expected a whole number, at least 1',
    );
  });

  it('answers --version through commander', () => {
    let out = '';
    expect(() =>
      resolveConfig(['--version'], {}, '1.2.3', { writeOut: (s) => (out += s), writeErr: () => undefined }),
    ).toThrow();
    expect(out.trim()).toBe('1.2.3');
  });
});

describe('parseModuleConnectionString', () => {
  it('reads host, device and module', () => {
    expect(parseModuleConnectionString(CS)).toEqual({
      hostName: 'hub.example.net',
      deviceId: 'edge-7',
      moduleId: '$edgeAgent',
    });
  });
});
