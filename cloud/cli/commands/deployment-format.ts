/** Human text for deployments (the JSON output carries the same facts as data). */
import type { DeploymentMetrics, DeploymentSummary } from '../../fleet/deployments.js';
import { table } from '../format.js';

const count = (n: number | undefined): string => (n === undefined ? '-' : String(n));

export function metricsLine(m: DeploymentMetrics): string {
  return `targeted ${count(m.targeted)}, applied ${count(m.applied)}, reported success ${count(m.reportedSuccessful)}, reported failure ${count(m.reportedFailed)}`;
}

export function deploymentTable(deployments: readonly DeploymentSummary[]): string[] {
  if (deployments.length === 0) return ['no IoT Edge deployments'];
  return table(
    ['ID', 'PRIORITY', 'LAYERED', 'TARGETED', 'APPLIED', 'SUCCESS', 'FAILED', 'TARGET CONDITION'],
    deployments.map((d) => [
      d.id,
      String(d.priority),
      d.layered ? 'yes' : 'no',
      count(d.metrics.targeted),
      count(d.metrics.applied),
      count(d.metrics.reportedSuccessful),
      count(d.metrics.reportedFailed),
      d.targetCondition,
    ]),
  );
}

export function describeDeployment(d: DeploymentSummary): string[] {
  const lines = [
    `${d.id}${d.layered ? ' (layered)' : ''}`,
    `  priority          ${d.priority}`,
    `  target condition  ${d.targetCondition}`,
    `  etag              ${d.etag ?? '-'}`,
  ];
  if (d.createdTimeUtc) lines.push(`  created           ${d.createdTimeUtc}`);
  if (d.lastUpdatedTimeUtc) lines.push(`  updated           ${d.lastUpdatedTimeUtc}`);
  const labels = Object.entries(d.labels);
  if (labels.length > 0) lines.push(`  labels            ${labels.map(([k, v]) => `${k}=${v}`).join(', ')}`);
  lines.push(`  metrics           ${metricsLine(d.metrics)}`);
  for (const [name, query] of Object.entries(d.metricQueries)) {
    lines.push(`    ${name} = ${count(d.metrics.custom[name])}  (${query})`);
  }
  lines.push('  modules');
  for (const m of d.modules) lines.push(`    ${m.name}  ${m.image ?? ''}`.trimEnd());
  return lines;
}
