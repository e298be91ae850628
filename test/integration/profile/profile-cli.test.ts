import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLORS } from '../../../cloud/profile/chart-svg.js';
import { readProc } from '../../../cloud/profile/proc-stats.js';
import { startProcessTarget } from '../../../cloud/profile/process-target.js';
import { BYTES_PER_GB, CPU_STEPS, MEMORY_STEPS_GB } from '../../../cloud/profile/recommend.js';
import { runProfile } from '../../../cloud/profile/run-profile.js';
import { ModelRegistry } from '../../../cloud/registry/registry.js';
import type { ModelRecord } from '../../../cloud/registry/types.js';
import { MODELPORT_BIN, runModelport } from '../../support/cli.js';
import { GUIDE_SAMPLE } from '../../support/fixture-reference.js';
import { tempDir } from '../../support/tmp.js';
import { registerFixtures } from '../batch/helpers.js';
import { countColor, decodePng } from './png.js';

const work = tempDir('profile-cli');
let env: NodeJS.ProcessEnv;
const file = (name: string) => join(work.path, name);

beforeAll(async () => {
  env = await registerFixtures(join(work.path, 'home'), ['regression10', 'two_input', 'unsupported_op']);
  writeFileSync(file('guide.json'), JSON.stringify({ data: GUIDE_SAMPLE }));
  writeFileSync(file('bad.json'), JSON.stringify({ data: [[1, 2, 3]] }));
  writeFileSync(
    file('several.jsonl'),
    `${JSON.stringify({ data: GUIDE_SAMPLE })}\n${JSON.stringify({ data: { x: [[1, 2]] } })}\n`,
  );
});
afterAll(() => work.cleanup());

function model(name: string): ModelRecord {
  const registry = ModelRegistry.open(env.MODELPORT_HOME as string);
  try {
    return registry.get({ name, version: 1 });
  } finally {
    registry.close();
  }
}

/** Renders a page in headless Chromium and returns the screenshot (PNG bytes). */
function screenshot(page: string, png: string): Promise<Buffer> {
  const profile = file(`chromium-${Date.now()}`);
  mkdirSync(profile);
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--hide-scrollbars',
    '--force-device-scale-factor=1',
    `--user-data-dir=${profile}`,
    '--window-size=1000,1100',
    `--screenshot=${png}`,
    `file://${page}`,
  ];
  return new Promise((resolve, reject) =>
    execFile('chromium', args, { timeout: 60_000 }, (err, _stdout, stderr) =>
      err ? reject(new Error(`chromium failed: ${err.message}\n${stderr}`)) : resolve(readFileSync(png)),
    ),
  );
}

// biome-ignore lint/suspicious/noExplicitAny: parsed XML of any shape
type Node = Record<string, any>;

describe('modelport model profile (the real binary)', () => {
  it('profiles regression10 end to end, recommends {cpu, memoryInGB} and writes a report a browser renders', {
    timeout: 180_000,
  }, async () => {
    const report = file('report');
    const r = await runModelport(
      [
        'model',
        'profile',
        'regression10:1',
        '--sample',
        file('guide.json'),
        '--concurrency',
        '1,2',
        '--duration',
        '1',
        '--report',
        report,
        '--json',
      ],
      env,
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const doc = r.json().result;

    // The guide's shape, on Azure ML-like steps, covering what was measured.
    expect(Object.keys(doc.recommendation).sort()).toEqual(['cpu', 'memoryInGB']);
    expect(CPU_STEPS).toContain(doc.recommendation.cpu);
    expect(MEMORY_STEPS_GB).toContain(doc.recommendation.memoryInGB);
    expect(doc.server).toMatchObject({ mode: 'process', cpuLimit: 'none' });
    expect(doc.server.peakRssBytes).toBeGreaterThan(20 * 1024 ** 2);
    expect(doc.recommendation.memoryInGB * BYTES_PER_GB).toBeGreaterThanOrEqual(doc.server.peakRssBytes);
    const operating = doc.steps.find(
      (s: { concurrency: number }) => s.concurrency === doc.rule.operatingConcurrency,
    );
    expect(doc.recommendation.cpu).toBeGreaterThanOrEqual(operating.cpuCores);
    expect(doc.rule.text).toMatch(/^cpu: .* memoryInGB: peak RSS [\d.]+ MiB × 1\.5 headroom/);

    expect(doc.steps.map((s: { concurrency: number }) => s.concurrency)).toEqual([1, 2]);
    for (const s of doc.steps) {
      expect(s.requests).toBeGreaterThan(0);
      expect(s.errors).toBe(0);
      expect(s.throughput).toBeGreaterThan(0);
      expect(s.latency.p50).toBeGreaterThan(0);
      expect(s.latency.p50).toBeLessThanOrEqual(s.latency.p90);
      expect(s.latency.p90).toBeLessThanOrEqual(s.latency.p99);
      expect(s.cpuCores).toBeGreaterThan(0);
      expect(s.peakRssBytes).toBeGreaterThan(20 * 1024 ** 2);
    }
    expect(doc.sample).toMatchObject({
      file: file('guide.json'),
      requests: 1,
      rowsPerRequest: { min: 2, max: 2 },
      inputs: [{ name: 'x', type: 'float32', shape: [2, 10] }],
    });
    expect(doc.load).toEqual({
      tool: 'autocannon',
      durationSeconds: 1,
      concurrency: [1, 2],
      endpoint: '/score',
    });

    // profile.json is the document; report.html carries the chart.
    expect(doc.report).toEqual({ json: join(report, 'profile.json'), html: join(report, 'report.html') });
    const { report: _paths, ...written } = doc;
    expect(JSON.parse(readFileSync(join(report, 'profile.json'), 'utf8'))).toEqual(written);
    const html = readFileSync(join(report, 'report.html'), 'utf8');
    expect(html).not.toMatch(/<script|src=|href=/);
    expect(html).toContain(JSON.stringify(doc.recommendation).replace(/"/g, '&#34;'));
    const svgText = /<svg[\s\S]*<\/svg>/.exec(html)?.[0] as string;
    expect(XMLValidator.validate(svgText)).toBe(true);
    const svg: Node = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(svgText).svg;
    for (const series of ['throughput', 'p50', 'p99']) {
      const points = (svg.circle as Node[]).filter((c) => c.class === `point ${series}`);
      expect(points.map((c) => Number(c['data-concurrency']))).toEqual([1, 2]);
    }
    const throughput = (svg.circle as Node[])
      .filter((c) => c.class === 'point throughput')
      .map((c) => Number(c['data-value']));
    expect(throughput).toEqual(doc.steps.map((s: { throughput: number }) => s.throughput));

    // A person looks at it in a browser: Chromium renders the page, and the chart's series are on it.
    const image = decodePng(await screenshot(join(report, 'report.html'), file('report.png')));
    expect([image.width, image.height]).toEqual([1000, 1100]);
    for (const color of [COLORS.throughput, COLORS.p50, COLORS.p99])
      expect(countColor(image, color)).toBeGreaterThan(50);
  });

  it('shows its progress on a terminal and prints the recommendation for a person', {
    timeout: 120_000,
  }, async () => {
    const command = [
      process.execPath,
      MODELPORT_BIN,
      'model',
      'profile',
      'regression10:1',
      '--sample',
      file('guide.json'),
      '--concurrency',
      '1,2',
      '--duration',
      '1',
    ]
      .map((a) => `'${a}'`)
      .join(' ');
    // `script` runs the command on a pseudo-terminal, as a person at a shell would.
    const run = spawnSync('script', ['-qec', command, '/dev/null'], {
      env: { ...process.env, ...env, MODELPORT_LOG_LEVEL: 'warn' },
    });
    const screen = run.stdout.toString('utf8').replace(/\r/g, '\n');
    expect(run.status, screen).toBe(0);
    expect(screen).toMatch(
      /profiling \[[█░]+\] \d+% \| concurrency 2 \(2\/2\) \| c=1: \d+ req\/s, p99 [\d.]+ ms/,
    );
    expect(screen).toMatch(/^Recommendation: \{"cpu": [\d.]+, "memoryInGB": [\d.]+\}/m);
    expect(screen).toMatch(
      /^concurrency +requests +req\/s +p50 ms +p90 ms +p99 ms +errors +cpu cores +peak RSS/m,
    );
  });

  it('refuses a sample that does not fit the model before any server starts, naming the input and shape', async () => {
    const r = await runModelport(
      ['model', 'profile', 'regression10:1', '--sample', file('bad.json'), '--json'],
      env,
    );
    expect(r.code).toBe(2);
    expect(r.json().error).toMatchObject({ code: 'SAMPLE_INVALID' });
    expect(r.json().error?.message).toBe(
      "sample bad.json does not fit model regression10:1: input 'x' dimension 1 is 3 but the model expects 10 [N, 10]",
    );
    expect(r.json().error?.hint).toBe(`send what POST /score takes: {"data": rows for input 'x' [N, 10]}`);

    const several = await runModelport(
      ['model', 'profile', 'regression10:1', '--sample', file('several.jsonl')],
      env,
    );
    expect(several.code).toBe(2);
    expect(several.stderr).toMatch(
      /^error: sample several.jsonl line 2 does not fit model regression10:1: .*input 'x'/m,
    );

    // In process: the server starter is never called for a bad sample.
    let started = 0;
    await expect(
      runProfile({
        model: model('two_input'),
        sampleFile: file('guide.json'),
        concurrency: [1],
        durationSeconds: 1,
        latencyTargetMs: 100,
        limits: {},
        startTarget: async () => {
          started++;
          throw new Error('must not start');
        },
      }),
    ).rejects.toMatchObject({ code: 'SAMPLE_INVALID', exitCode: 2 });
    expect(started).toBe(0);
  });

  it('refuses limits it cannot apply: --memory without --image (2), --image with no engine (5)', async () => {
    const memory = await runModelport(
      ['model', 'profile', 'regression10:1', '--sample', file('guide.json'), '--memory', '512m', '--json'],
      env,
    );
    expect([memory.code, memory.json().error?.code]).toEqual([2, 'MEMORY_LIMIT_NEEDS_IMAGE']);
    const noEngine = await runModelport(
      [
        'model',
        'profile',
        'regression10:1',
        '--sample',
        file('guide.json'),
        '--image',
        'modelport/none:1',
        '--json',
      ],
      { ...env, DOCKER_HOST: `unix://${file('no-docker.sock')}` },
    );
    expect([noEngine.code, noEngine.json().error?.code]).toEqual([5, 'DOCKER_UNREACHABLE']);
  });

  it('fails (exit 1) with the server’s own reason when the model cannot be served', async () => {
    writeFileSync(file('pairs.json'), JSON.stringify({ data: [[1, 2]] }));
    const r = await runModelport(
      ['model', 'profile', 'unsupported_op:1', '--sample', file('pairs.json'), '--json'],
      env,
    );
    expect(r.code).toBe(1);
    expect(r.json().error?.code).toBe('SERVER_START_FAILED');
    expect(r.json().error?.message).toMatch(
      /^the scoring server for unsupported_op:1 failed: model 'unsupported_op' cannot be loaded by onnxruntime: .*NoSuchOperator/,
    );
  });

  it('pins the child server to whole cores with --cpus (taskset), as its affinity shows', {
    timeout: 120_000,
  }, async () => {
    const { target, warnings } = await startProcessTarget(
      'regression10:1',
      { cpus: 0.5 },
      { ...process.env, ...env },
    );
    try {
      expect(warnings[0]).toMatch(/--cpus 0.5: a process can only be pinned to whole cores/);
      expect(target.server.cpuLimit).toBe('taskset -c 0 (CPU affinity, whole cores)');
      const status = readFileSync(`/proc/${target.server.pid}/status`, 'utf8');
      expect(/^Cpus_allowed_list:\s*(\S+)$/m.exec(status)?.[1]).toBe('0');
      expect((await readProc(target.server.pid as number)).rssBytes).toBeGreaterThan(0);
      expect(await (await fetch(`${target.url}/`)).text()).toBe('Healthy');
    } finally {
      await target.stop();
    }
  });
});
