import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const SOURCES = ['common', 'cloud', 'agent', 'modules', 'manifests'];
const ENTRY = join(ROOT, 'dist', 'cloud', 'cli', 'main.js');

function newestSource(dir: string): number {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts'))
      newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/**
 * Integration tests spawn the real binaries (bin/ → dist/), so dist must match the sources.
 * Rebuilds only when a source is newer than the compiled CLI; type errors are `npm run typecheck`'s job.
 */
export function setup(): void {
  const built = existsSync(ENTRY) ? statSync(ENTRY).mtimeMs : 0;
  if (built > 0 && built >= Math.max(...SOURCES.map((s) => newestSource(join(ROOT, s))))) return;
  try {
    execFileSync(
      process.execPath,
      [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json')],
      {
        cwd: ROOT,
        stdio: 'pipe',
      },
    );
  } catch (e) {
    if (!existsSync(ENTRY))
      throw new Error(
        `npm run build failed and dist/ is missing:\n${(e as { stdout?: Buffer }).stdout ?? e}`,
      );
  }
}
