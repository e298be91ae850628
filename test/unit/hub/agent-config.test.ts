/** The agent's options for its local hub, outbox and telemetry: flags > env > defaults, checked once. */
import { describe, expect, it } from 'vitest';
import { byteSize, resolveConfig } from '../../../agent/config.js';

const AGENT_CS = 'HostName=hub.example.net;DeviceId=edge-7;ModuleId=$edgeAgent;SharedAccessKey=a2V5';
const HUB_CS = AGENT_CS.replace('$edgeAgent', '$edgeHub');
const quiet = { writeOut: () => undefined, writeErr: () => undefined };
const resolve = (argv: string[], env: NodeJS.ProcessEnv = {}) => resolveConfig(argv, env, '1.2.3', quiet);

describe('local hub options', () => {
  it('defaults: telemetry every 60 s, hub port and names chosen at start, outbox cap from the disk', () => {
    const c = resolve(['--manifest', 'd.json']);
    expect(c.telemetryIntervalMs).toBe(60_000);
    for (const key of ['hubPort', 'hubListenHost', 'gatewayHostName', 'outboxCapBytes', 'hostHome'] as const)
      expect(c[key]).toBeUndefined();
  });

  it('takes every option from flags, then from the environment', () => {
    const flags = resolve([
      '--manifest',
      'd.json',
      '--telemetry-interval',
      '0',
      '--hub-port',
      '18883',
      '--hub-host',
      '0.0.0.0',
      '--gateway-host-name',
      'gateway.local',
      '--outbox-cap',
      '512M',
      '--host-home',
      '/srv/agent',
    ]);
    expect(flags).toMatchObject({
      telemetryIntervalMs: 0,
      hubPort: 18883,
      hubListenHost: '0.0.0.0',
      gatewayHostName: 'gateway.local',
      outboxCapBytes: 512 * 1024 ** 2,
      hostHome: '/srv/agent',
    });
    const env = {
      MODELPORT_AGENT_TELEMETRY_INTERVAL: '15',
      MODELPORT_AGENT_HUB_PORT: '28883',
      MODELPORT_AGENT_HUB_HOST: '172.17.0.1',
      MODELPORT_AGENT_GATEWAY_HOST_NAME: 'edge.example',
      MODELPORT_AGENT_OUTBOX_CAP: '2G',
      MODELPORT_AGENT_HOST_HOME: '/data/agent',
    };
    expect(resolve(['--manifest', 'd.json'], env)).toMatchObject({
      telemetryIntervalMs: 15_000,
      hubPort: 28883,
      hubListenHost: '172.17.0.1',
      gatewayHostName: 'edge.example',
      outboxCapBytes: 2 * 1024 ** 3,
      hostHome: '/data/agent',
    });
    expect(resolve(['--manifest', 'd.json', '--hub-port', '1883'], env).hubPort).toBe(1883);
  });

  it('offline with a $edgeHub identity: the device and IoT Hub come from it, containers stay labelled local', () => {
    const c = resolve(['--manifest', 'd.json', '--edgehub-connection-string', HUB_CS]);
    expect(c).toMatchObject({
      mode: 'file',
      edgeHubConnectionString: HUB_CS,
      deviceId: 'edge-7',
      hostName: 'hub.example.net',
      agentId: 'local',
    });
    expect(resolve(['--connection-string', AGENT_CS, '--edgehub-connection-string', HUB_CS])).toMatchObject({
      mode: 'hub',
      deviceId: 'edge-7',
    });
  });

  it.each([
    [['--manifest', 'd', '--hub-port', '70000'], /expected a TCP port from 1 to 65535/],
    [['--manifest', 'd', '--hub-port', '0'], /expected a TCP port from 1 to 65535/],
    [['--manifest', 'd', '--outbox-cap', 'lots'], /expected a size such as 536870912, 512M or 1G/],
    [['--manifest', 'd', '--telemetry-interval', '-1'], /expected a number of seconds/],
    [
      ['--manifest', 'd', '--edgehub-connection-string', AGENT_CS],
      /is for module '\$edgeAgent', not '\$edgeHub'/,
    ],
    [
      ['--connection-string', AGENT_CS, '--edgehub-connection-string', HUB_CS.replace('edge-7', 'edge-8')],
      /the \$edgeHub connection string is for device 'edge-8', the \$edgeAgent one for 'edge-7'/,
    ],
  ])('rejects %j', (argv, message) => {
    expect(() => resolve(argv)).toThrow(message);
  });

  it('rejects a bad hub port in the environment as a usage error naming the variable', () => {
    expect(() => resolve(['--manifest', 'd'], { MODELPORT_AGENT_HUB_PORT: 'x' })).toThrow(
      'MODELPORT_AGENT_HUB_PORT=x: expected a TCP port from 1 to 65535',
    );
  });

  it.each([
    ['1048576', 1024 ** 2],
    ['512M', 512 * 1024 ** 2],
    ['512MiB', 512 * 1024 ** 2],
    ['512mb', 512 * 1024 ** 2],
    ['1G', 1024 ** 3],
    ['1.5g', 1.5 * 1024 ** 3],
    ['64k', 64 * 1024],
    ['100B', 100],
  ])('byte size %s = %d', (text, bytes) => {
    expect(byteSize(text)).toBe(bytes);
  });

  it.each(['', '0', '-5M', '1T', 'M', '1 G B'])('byte size %j is refused', (text) => {
    expect(() => byteSize(text)).toThrow(/expected a size/);
  });
});
