/**
 * `node dist/agent/image/cli.js --out DIR [--platform linux/arm64] [--native-package NAME=DIR]`: writes the
 * agent image's build context (see build-context.ts) and prints what it holds as JSON.
 */
import { join, resolve } from 'node:path';
import { isModelportError, messageOf, UsageError } from '../../common/errors.js';
import {
  type AgentContextOptions,
  type AgentPlatform,
  buildAgentContext,
  folderBytes,
} from './build-context.js';

function parseArgs(argv: string[]): AgentContextOptions {
  const get = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const out = get('--out');
  if (!out)
    throw new UsageError(
      'OUT_MISSING',
      'usage: build-context --out DIR [--platform linux/arm64] [--native-package NAME=DIR]',
    );
  const platform = (get('--platform') ?? 'linux/amd64') as AgentPlatform;
  if (platform !== 'linux/amd64' && platform !== 'linux/arm64') {
    throw new UsageError('PLATFORM_INVALID', `--platform ${platform}: use linux/amd64 or linux/arm64`);
  }
  const nativePackages: Record<string, string> = {};
  argv.forEach((a, i) => {
    if (a !== '--native-package') return;
    const [name, dir] = (argv[i + 1] ?? '').split('=');
    if (!name || !dir) throw new UsageError('NATIVE_PACKAGE_INVALID', '--native-package takes NAME=DIR');
    nativePackages[name] = resolve(dir);
  });
  return { root: join(import.meta.dirname, '..', '..', '..'), out, platform, nativePackages };
}

async function main(): Promise<number> {
  try {
    const ctx = await buildAgentContext(parseArgs(process.argv.slice(2)));
    process.stdout.write(`${JSON.stringify({ ...ctx, bytes: await folderBytes(ctx.out) }, null, 2)}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`modelport-agent image context: ${messageOf(e)}\n`);
    return isModelportError(e) ? e.exitCode : 1;
  }
}

process.exitCode = await main();
