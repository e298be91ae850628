import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { COLORS, escapeXml, throughputLatencyChart } from './chart-svg.js';
import type { ProfileDocument } from './run-profile.js';

export interface ReportFiles {
  json: string;
  html: string;
}

/** Writes `profile.json` (the --json document) and `report.html` (a page with the chart) into `dir`. */
export async function writeReport(dir: string, document: ProfileDocument): Promise<ReportFiles> {
  const folder = resolve(dir);
  await mkdir(folder, { recursive: true });
  const files = { json: join(folder, 'profile.json'), html: join(folder, 'report.html') };
  await writeFile(files.json, `${JSON.stringify(document, null, 2)}\n`);
  await writeFile(files.html, reportHtml(document));
  return files;
}

/** One self-contained page: no scripts, no external files; the chart is inline SVG. */
export function reportHtml(doc: ProfileDocument): string {
  const e = escapeXml;
  const mib = (b: number) => `${(b / 1024 ** 2).toFixed(1)} MiB`;
  const ms = (v: number) => v.toFixed(1);
  const rows = doc.steps
    .map(
      (s) =>
        `<tr${s.concurrency === doc.rule.operatingConcurrency ? ' class="operating"' : ''}><td>${s.concurrency}</td><td>${s.requests}</td><td>${s.throughput.toFixed(1)}</td><td>${ms(s.latency.p50)}</td><td>${ms(s.latency.p90)}</td><td>${ms(s.latency.p99)}</td><td>${s.errors}</td><td>${s.cpuCores.toFixed(2)}</td><td>${mib(s.peakRssBytes)}</td></tr>`,
    )
    .join('\n');
  const chart = throughputLatencyChart(doc.steps, {
    latencyTargetMs: doc.rule.latencyTargetMs,
    operatingConcurrency: doc.rule.operatingConcurrency,
  });
  const server =
    doc.server.mode === 'image'
      ? `image ${e(doc.server.image ?? '')}, CPU limit: ${e(doc.server.cpuLimit)}, memory limit: ${doc.server.memoryLimitBytes === null ? 'none' : mib(doc.server.memoryLimitBytes)}`
      : `child process (pid ${doc.server.pid}), CPU limit: ${e(doc.server.cpuLimit)}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Profile of ${e(doc.model.name)}:${doc.model.version}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; max-width: 60rem; }
code, pre { font-family: ui-monospace, monospace; }
.recommendation { font-size: 1.4rem; background: #f4f8fb; border-left: 4px solid ${COLORS.throughput}; padding: .6rem 1rem; }
table { border-collapse: collapse; margin-top: 1rem; }
th, td { border: 1px solid #ddd; padding: .3rem .6rem; text-align: right; }
tr.operating { background: #fff3cd; }
.rule { line-height: 1.5; }
</style>
</head>
<body>
<h1>Profile of ${e(doc.model.name)}:${doc.model.version}</h1>
<p>Recommended resources (Azure ML's <code>Model.profile</code> shape; paste into a deployment spec's <code>resources</code>):</p>
<pre class="recommendation" id="recommendation">${e(JSON.stringify(doc.recommendation))}</pre>
<p class="rule" id="rule">${e(doc.rule.text)}</p>
<figure>
${chart}
<figcaption>Throughput and latency at each concurrency (${doc.load.durationSeconds} s per step, ${e(doc.load.tool)} against <code>POST ${e(doc.load.endpoint)}</code>). The shaded step sized the CPU.</figcaption>
</figure>
<table id="steps">
<thead><tr><th>concurrency</th><th>requests</th><th>throughput (req/s)</th><th>p50 (ms)</th><th>p90 (ms)</th><th>p99 (ms)</th><th>errors</th><th>CPU (cores)</th><th>peak RSS</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
<p>Server: ${server}; peak memory ${mib(doc.server.peakRssBytes)}.
Sample: ${e(doc.sample.file)} (${doc.sample.requests} request body(ies), ${doc.sample.rowsPerRequest.min}–${doc.sample.rowsPerRequest.max} row(s) each, ${doc.sample.bytes} bytes).
Model digest <code>${e(doc.model.digest)}</code>; profiled ${e(doc.createdAt)}.</p>
</body>
</html>
`;
}
