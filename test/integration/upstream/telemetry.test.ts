import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ratesBetween, scrapeScoringFigures } from '../../../agent/telemetry/scrape.js';
import { startTelemetry } from '../../../agent/telemetry/telemetry-loop.js';
import { silentLogger } from '../../../common/logger.js';
import { ScoringMetrics } from '../../../modules/scoring/metrics.js';
import { drainOrder, type OutboxFixture, outboxFixture } from './helpers.js';

let fx: OutboxFixture | undefined;
let server: http.Server | undefined;
afterEach(async () => {
  fx?.cleanup();
  fx = undefined;
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function serve(handler: http.RequestListener): Promise<string> {
  server = http.createServer(handler);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
}

describe('telemetry', () => {
  it('queues device figures (CPU, memory, disk of the agent home) as a telemetry message', async () => {
    fx = outboxFixture();
    const outbox = await fx.open();
    const telemetry = startTelemetry({
      intervalSecs: 0,
      outbox,
      agentHome: fx.dir,
      extra: () => ({ outbox: { queued: outbox.metrics().queued.count } }),
      log: silentLogger(),
    });
    await telemetry.tick();
    telemetry.stop();
    const [message] = outbox.fetch('$upstream', 5, 0, 10);
    expect(message?.appProperties).toEqual({ type: 'telemetry', module: '$agent' });
    expect(message?.systemProperties).toEqual({ contentType: 'application/json', contentEncoding: 'utf-8' });
    const body = JSON.parse(message?.body.toString() ?? '{}');
    expect(body.kind).toBe('device');
    expect(body.cpu.loadPercent).toBeGreaterThanOrEqual(0);
    expect(body.cpu.perCore.length).toBeGreaterThan(0);
    expect(body.memory.totalBytes).toBeGreaterThan(body.memory.availableBytes);
    expect(body.disks.agentHome.path).toBe(fx.dir);
    expect(body.disks.agentHome.totalBytes).toBeGreaterThan(0);
    expect(body.outbox).toEqual({ queued: 0 });
    expect(Array.isArray(body.gpus)).toBe(true);
    expect(drainOrder(outbox)).toHaveLength(1);
  });

  it("scrapes a scoring server's /metrics (prom-client text) into per-model figures and rates", async () => {
    const metrics = new ScoringMetrics();
    for (let i = 0; i < 9; i += 1) metrics.request('/score', 'ridge', 200, 0.004);
    metrics.request('/score', 'ridge', 500, 0.2);
    const url = await serve((_req, res) => {
      void metrics.text().then((text) => {
        res.setHeader('content-type', metrics.contentType);
        res.end(text);
      });
    });
    const first = await scrapeScoringFigures(url);
    expect(first).toEqual([
      expect.objectContaining({ model: 'ridge', requests: 10, errors: 1, clientErrors: 0 }),
    ]);
    expect(first[0]?.latencySeconds.p50).toBeLessThanOrEqual(0.005);
    metrics.request('/score', 'ridge', 200, 0.004);
    const second = await scrapeScoringFigures(url);
    expect(ratesBetween(first[0], second[0] as (typeof second)[number], 2)).toEqual({
      requestsPerSecond: 0.5,
      errorsPerSecond: 0,
    });
  });

  it('says why a scrape failed', async () => {
    const url = await serve((_req, res) => {
      res.statusCode = 503;
      res.end('not ready');
    });
    await expect(scrapeScoringFigures(url)).rejects.toMatchObject({
      code: 'METRICS_SCRAPE_FAILED',
      message: /HTTP 503/,
    });
    const bad = await serve((_req, res) => res.end('metric{a="1" 2\n'));
    await expect(scrapeScoringFigures(bad)).rejects.toMatchObject({ code: 'PROMETHEUS_TEXT_INVALID' });
  });
});
