import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { parseConcurrency, parseMemory } from '../../../cloud/cli/commands/model-profile.js';
import { COLORS, niceMax, throughputLatencyChart } from '../../../cloud/profile/chart-svg.js';
import { containerMemoryBytes } from '../../../cloud/profile/image-target.js';
import { percentile } from '../../../cloud/profile/load.js';
import { parseProc } from '../../../cloud/profile/proc-stats.js';
import { affinityPlan } from '../../../cloud/profile/process-target.js';
import type { StepResult } from '../../../cloud/profile/recommend.js';

const step = (concurrency: number, throughput: number, p50: number, p99: number): StepResult => ({
  concurrency,
  requests: throughput,
  throughput,
  latency: { p50, p90: (p50 + p99) / 2, p99 },
  errors: 0,
  peakRssBytes: 1,
  cpuCores: 0.5,
});

// biome-ignore lint/suspicious/noExplicitAny: parsed XML of any shape
type Node = Record<string, any>;

function parseSvg(svg: string): Node {
  expect(XMLValidator.validate(svg)).toBe(true);
  return new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    isArray: (name) => ['circle', 'text', 'line', 'polyline', 'rect'].includes(name),
  }).parse(svg).svg;
}

describe('the throughput/latency chart', () => {
  const steps = [step(1, 120, 4, 9), step(2, 210, 6, 15), step(4, 260, 11, 40), step(8, 250, 25, 130)];
  const svg = parseSvg(throughputLatencyChart(steps, { latencyTargetMs: 100, operatingConcurrency: 4 }));

  it('plots one point per step for each series, in concurrency order, with its value', () => {
    for (const series of ['throughput', 'p50', 'p99'] as const) {
      const points = (svg.circle as Node[]).filter((c) => c.class === `point ${series}`);
      expect(points.map((c) => Number(c['data-concurrency']))).toEqual([1, 2, 4, 8]);
      expect(points.every((c) => c.fill === COLORS[series])).toBe(true);
      const values = points.map((c) => Number(c['data-value']));
      const expected = steps.map((s) => (series === 'throughput' ? s.throughput : s.latency[series]));
      expect(values).toEqual(expected);
      // Higher values sit higher (smaller y); x rises with concurrency; everything inside the picture.
      const ys = points.map((c) => Number(c.cy));
      const xs = points.map((c) => Number(c.cx));
      for (let i = 0; i < steps.length; i++) {
        for (let j = 0; j < steps.length; j++) {
          if ((expected[i] as number) > (expected[j] as number)) expect(ys[i]).toBeLessThan(ys[j] as number);
        }
      }
      expect(xs).toEqual([...xs].sort((a, b) => a - b));
      for (const [x, y] of xs.map((x, i) => [x, ys[i] as number])) {
        expect(x).toBeGreaterThan(0);
        expect(x).toBeLessThan(Number(svg.width));
        expect(y).toBeGreaterThan(0);
        expect(y).toBeLessThan(Number(svg.height));
      }
    }
  });

  it('labels its axes, marks the latency target and the step that sized the CPU', () => {
    const texts = (svg.text as Node[]).map((t) => (typeof t === 'string' ? t : t['#text']));
    expect(texts).toEqual(
      expect.arrayContaining([
        'concurrency (connections)',
        'throughput (requests/s)',
        'latency (ms)',
        'p99 target 100 ms',
        'sized here',
      ]),
    );
    expect((svg.line as Node[]).filter((l) => l.class === 'target')).toHaveLength(1);
    expect((svg.rect as Node[]).filter((r) => r.class === 'operating')).toHaveLength(1);
  });

  it('ends axes on round numbers', () => {
    expect([0.3, 1, 7, 12, 260, 2600, 0].map(niceMax)).toEqual([0.5, 1, 10, 20, 500, 5000, 1]);
  });
});

describe('profile measurements', () => {
  it('reads CPU time and memory from /proc, with a command name holding spaces and parentheses', () => {
    const stat = '4242 (node (serve) x) S 1 4242 4242 0 -1 4194560 5000 0 0 0 250 75 0 0 20 0 11 0 100 0 0';
    const status = 'Name:\tnode\nVmHWM:\t  204800 kB\nVmRSS:\t  153600 kB\nThreads:\t11\n';
    expect(parseProc(stat, status)).toEqual({
      cpuSeconds: 3.25,
      rssBytes: 153600 * 1024,
      peakRssBytes: 204800 * 1024,
    });
  });

  it('reads container memory without the reclaimable page cache (cgroup v1 and v2)', () => {
    expect(containerMemoryBytes({ memory_stats: { usage: 300, stats: { inactive_file: 100 } } })).toBe(200);
    expect(containerMemoryBytes({ memory_stats: { usage: 300, stats: { total_inactive_file: 50 } } })).toBe(
      250,
    );
    expect(containerMemoryBytes({})).toBe(0);
  });

  it('takes nearest-rank percentiles of sorted latencies', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(values, 50), percentile(values, 90), percentile(values, 99)]).toEqual([50, 90, 99]);
    expect(percentile([3.5], 99)).toBe(3.5);
    expect(percentile([], 50)).toBe(0);
  });

  it('pins a child process to whole cores, and says when that is not what --cpus asked', () => {
    expect(affinityPlan(undefined, 2)).toBeUndefined();
    expect(affinityPlan(1, 2)).toEqual({
      cores: [0],
      description: 'taskset -c 0 (CPU affinity, whole cores)',
      warnings: [],
    });
    const half = affinityPlan(0.5, 2);
    expect(half?.cores).toEqual([0]);
    expect(half?.warnings[0]).toMatch(
      /--cpus 0.5: a process can only be pinned to whole cores, so the server gets 1; .*--image/,
    );
    expect(affinityPlan(4, 2)?.cores).toEqual([0, 1]);
  });
});

describe('profile options', () => {
  it('parses concurrency lists into rising distinct steps', () => {
    expect(parseConcurrency(undefined)).toEqual([1, 2, 4, 8]);
    expect(parseConcurrency('4, 1,2,2')).toEqual([1, 2, 4]);
    expect(() => parseConcurrency('1,x')).toThrow(/comma-separated list of integers/);
    expect(() => parseConcurrency('0')).toThrow(/comma-separated/);
  });

  it('parses memory sizes as docker run --memory does', () => {
    expect(parseMemory('512m')).toBe(512 * 1024 ** 2);
    expect(parseMemory('1g')).toBe(1024 ** 3);
    expect(parseMemory('1.5GiB')).toBe(1.5 * 1024 ** 3);
    expect(parseMemory('268435456')).toBe(268435456);
    expect(() => parseMemory('lots')).toThrow(/not a memory size/);
    expect(() => parseMemory('1k')).toThrow(/at least 6m/);
  });
});
