import { readFileSync } from 'node:fs';

/** The package version, read from package.json (beside agent/ in a checkout, beside dist/ when built). */
export function agentVersion(): string {
  for (const candidate of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'modelport' && pkg.version) return pkg.version;
    } catch {
      // Not at this level: try the next.
    }
  }
  return '0.0.0';
}
