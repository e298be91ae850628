import type { StepResult } from './recommend.js';

/** Series colours, shared with the HTML legend and checked by the report test. */
export const COLORS = { throughput: '#1f77b4', p50: '#2ca02c', p99: '#d62728', target: '#7f7f7f' } as const;

const WIDTH = 760;
const HEIGHT = 400;
const M = { left: 72, right: 72, top: 48, bottom: 64 };

export interface ChartOptions {
  latencyTargetMs: number;
  operatingConcurrency: number;
}

/**
 * Throughput (left axis) and p50/p99 latency (right axis) against concurrency, as a self-contained SVG
 * (well-formed XML, no scripts or external references). Every point is a `<circle class="point SERIES">`
 * carrying `data-concurrency` and `data-value`, with a `<title>` for hovering.
 */
export function throughputLatencyChart(steps: readonly StepResult[], options: ChartOptions): string {
  const plotW = WIDTH - M.left - M.right;
  const plotH = HEIGHT - M.top - M.bottom;
  const n = Math.max(steps.length, 1);
  const xOf = (i: number) => M.left + ((i + 0.5) * plotW) / n;
  const tMax = niceMax(Math.max(...steps.map((s) => s.throughput), 1));
  const lMax = niceMax(Math.max(...steps.map((s) => s.latency.p99), 1));
  const yT = (v: number) => M.top + plotH - (v / tMax) * plotH;
  const yL = (v: number) => M.top + plotH - (v / lMax) * plotH;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="throughput and latency by concurrency">`,
    `<rect x="0" y="0" width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
  );
  // The operating step, behind everything else.
  const op = steps.findIndex((s) => s.concurrency === options.operatingConcurrency);
  if (op >= 0) {
    const w = plotW / n;
    parts.push(
      `<rect class="operating" x="${f(xOf(op) - w / 2)}" y="${M.top}" width="${f(w)}" height="${plotH}" fill="#fff3cd"/>`,
      `<text class="operating-label" x="${f(xOf(op))}" y="${M.top + 14}" text-anchor="middle" font-size="11" fill="#8a6d3b">sized here</text>`,
    );
  }
  // Grid and axes.
  for (let k = 0; k <= 5; k++) {
    const y = M.top + plotH - (k * plotH) / 5;
    parts.push(
      `<line class="grid" x1="${M.left}" y1="${f(y)}" x2="${M.left + plotW}" y2="${f(y)}" stroke="#e5e5e5"/>`,
      `<text class="tick left" x="${M.left - 8}" y="${f(y + 4)}" text-anchor="end" font-size="11" fill="${COLORS.throughput}">${num((tMax * k) / 5)}</text>`,
      `<text class="tick right" x="${M.left + plotW + 8}" y="${f(y + 4)}" font-size="11" fill="${COLORS.p99}">${num((lMax * k) / 5)}</text>`,
    );
  }
  parts.push(
    `<line class="axis x" x1="${M.left}" y1="${M.top + plotH}" x2="${M.left + plotW}" y2="${M.top + plotH}" stroke="#333"/>`,
    `<line class="axis left" x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${M.top + plotH}" stroke="#333"/>`,
    `<line class="axis right" x1="${M.left + plotW}" y1="${M.top}" x2="${M.left + plotW}" y2="${M.top + plotH}" stroke="#333"/>`,
  );
  steps.forEach((s, i) => {
    parts.push(
      `<text class="tick x" x="${f(xOf(i))}" y="${M.top + plotH + 18}" text-anchor="middle" font-size="12">${s.concurrency}</text>`,
    );
  });
  parts.push(
    `<text class="axis-label x" x="${M.left + plotW / 2}" y="${HEIGHT - 18}" text-anchor="middle" font-size="13">concurrency (connections)</text>`,
    `<text class="axis-label left" transform="translate(18 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="13" fill="${COLORS.throughput}">throughput (requests/s)</text>`,
    `<text class="axis-label right" transform="translate(${WIDTH - 14} ${M.top + plotH / 2}) rotate(90)" text-anchor="middle" font-size="13" fill="${COLORS.p99}">latency (ms)</text>`,
  );
  // The latency target, when it falls inside the latency axis.
  if (options.latencyTargetMs <= lMax) {
    const y = yL(options.latencyTargetMs);
    parts.push(
      `<line class="target" x1="${M.left}" y1="${f(y)}" x2="${M.left + plotW}" y2="${f(y)}" stroke="${COLORS.target}" stroke-dasharray="6 4"/>`,
      `<text class="target-label" x="${M.left + plotW - 4}" y="${f(y - 4)}" text-anchor="end" font-size="11" fill="${COLORS.target}">p99 target ${num(options.latencyTargetMs)} ms</text>`,
    );
  }
  const series: {
    key: keyof typeof COLORS;
    label: string;
    value: (s: StepResult) => number;
    y: (v: number) => number;
    unit: string;
  }[] = [
    { key: 'throughput', label: 'throughput', value: (s) => s.throughput, y: yT, unit: 'req/s' },
    { key: 'p50', label: 'p50 latency', value: (s) => s.latency.p50, y: yL, unit: 'ms' },
    { key: 'p99', label: 'p99 latency', value: (s) => s.latency.p99, y: yL, unit: 'ms' },
  ];
  for (const line of series) {
    const color = COLORS[line.key];
    const points = steps.map((s, i) => `${f(xOf(i))},${f(line.y(line.value(s)))}`).join(' ');
    if (steps.length > 1) {
      parts.push(
        `<polyline class="line ${line.key}" points="${points}" fill="none" stroke="${color}" stroke-width="2"/>`,
      );
    }
    steps.forEach((s, i) => {
      const v = line.value(s);
      parts.push(
        `<circle class="point ${line.key}" data-concurrency="${s.concurrency}" data-value="${v}" cx="${f(xOf(i))}" cy="${f(line.y(v))}" r="5" fill="${color}"><title>concurrency ${s.concurrency}: ${line.label} ${num(v)} ${line.unit}</title></circle>`,
      );
    });
  }
  // Legend along the top.
  series.forEach((line, k) => {
    const x = M.left + k * 150;
    parts.push(
      `<circle class="legend-mark ${line.key}" cx="${x + 6}" cy="20" r="5" fill="${COLORS[line.key]}"/>`,
      `<text class="legend ${line.key}" x="${x + 16}" y="24" font-size="12">${escapeXml(`${line.label} (${line.unit})`)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** The smallest of 1, 2, 2.5, 5 × 10^k at or above `value`: axes end on round numbers. */
export function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (value <= m * power + 1e-12) return m * power;
  return 10 * power;
}

function f(v: number): string {
  return v.toFixed(1);
}

function num(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1).replace(/\.0$/, '');
  return v.toFixed(2).replace(/\.?0+$/, '');
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
