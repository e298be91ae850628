/**
 * Module telemetry against a real Docker engine: a container labelled as a managed module, serving
 * Prometheus text on /metrics like the scoring server, gets a `module-metrics` message with its
 * container figures (dockerode stats) and per-model scoring figures (scraped and parsed).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { managedContainers } from '../../../agent/telemetry/container-metrics.js';
import { startTelemetry } from '../../../agent/telemetry/telemetry-loop.js';
import { openOutbox } from '../../../agent/upstream/open-outbox.js';
import { silentLogger } from '../../../common/logger.js';
import {
  dockerClient,
  engineInfo,
  freePort,
  removeByLabel,
  runContainer,
} from '../../support/engine/helpers.js';
import { tempDir } from '../../support/tmp.js';

const SUITE = 'modelport.test.suite=upstream-telemetry';

/** What modules/scoring's prom-client registry writes, served by a tiny node script in the container. */
const METRICS_SCRIPT = `
const http = require('http');
const text = [
  '# HELP modelport_requests_total HTTP requests by route, model and status code',
  '# TYPE modelport_requests_total counter',
  'modelport_requests_total{route="/score",model="ridge",status="200"} 42',
  'modelport_requests_total{route="/score",model="ridge",status="500"} 1',
  '# HELP modelport_request_duration_seconds Time from request start to reply, by route and model',
  '# TYPE modelport_request_duration_seconds histogram',
  'modelport_request_duration_seconds_bucket{le="0.005",route="/score",model="ridge"} 40',
  'modelport_request_duration_seconds_bucket{le="0.05",route="/score",model="ridge"} 43',
  'modelport_request_duration_seconds_bucket{le="+Inf",route="/score",model="ridge"} 43',
  'modelport_request_duration_seconds_sum{route="/score",model="ridge"} 0.2',
  'modelport_request_duration_seconds_count{route="/score",model="ridge"} 43',
  '',
].join('\\n');
http.createServer((req, res) => {
  if (req.url === '/metrics') { res.setHeader('content-type', 'text/plain; version=0.0.4'); return res.end(text); }
  res.end('Healthy');
}).listen(Number(process.env.MODELPORT_PORT), '127.0.0.1');
`;

afterAll(async () => {
  await removeByLabel(SUITE);
});

describe('module telemetry (Docker)', () => {
  it('sends container figures and scraped scoring figures per managed module', async () => {
    const info = engineInfo();
    const docker = dockerClient(info);
    const port = await freePort();
    const [key, value] = SUITE.split('=') as [string, string];
    const container = await runContainer({
      image: info.baseImage,
      cmd: ['node', '-e', METRICS_SCRIPT],
      port,
      labels: {
        [key]: value,
        'modelport.managed': 'true',
        'modelport.agent': 'telemetry-test',
        'modelport.module': 'scoring',
      },
    });
    await container.waitForHttp('/metrics', 30_000);

    const modules = await managedContainers(docker, 'telemetry-test');
    expect(modules).toEqual([
      expect.objectContaining({
        moduleId: 'scoring',
        running: true,
        metricsUrl: `http://127.0.0.1:${port}/metrics`,
      }),
    ]);

    const home = tempDir('telemetry-docker');
    const outbox = await openOutbox({
      path: `${home.path}/outbox.db`,
      capBytes: 64 * 1024 * 1024,
      log: silentLogger(),
    });
    try {
      const telemetry = startTelemetry({
        intervalSecs: 0,
        outbox,
        agentHome: home.path,
        docker,
        agentId: 'telemetry-test',
        log: silentLogger(),
      });
      await telemetry.tick();
      const messages = outbox.fetch('$upstream', 5, 0, 10);
      const moduleMessage = messages.find((m) => m.appProperties.type === 'module-metrics');
      expect(moduleMessage?.appProperties).toEqual({ type: 'module-metrics', module: 'scoring' });
      const body = JSON.parse(moduleMessage?.body.toString() ?? '{}');
      expect(body.running).toBe(true);
      expect(body.container.memoryBytes).toBeGreaterThan(0);
      expect(body.container.pids).toBeGreaterThan(0);
      expect(body.scoring).toEqual([
        expect.objectContaining({ model: 'ridge', requests: 43, errors: 1, clientErrors: 0 }),
      ]);
      expect(body.scoring[0].latencySeconds.p50).toBeLessThanOrEqual(0.005);
      const device = JSON.parse(
        messages.find((m) => m.appProperties.type === 'telemetry')?.body.toString() ?? '{}',
      );
      expect(device.kind).toBe('device');
    } finally {
      outbox.close();
      home.cleanup();
      await container.remove();
    }
  });
});
