import { stat } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { basename, dirname, extname, resolve } from 'node:path';
import type * as Esbuild from 'esbuild';
import type { Metafile } from 'esbuild';
import { isENOENT, messageOf, UsageError } from '../../common/errors.js';
import { lazyRequire } from '../../common/lazy-require.js';
import { packageName } from './app-files.js';

const esbuild = lazyRequire<typeof Esbuild>('esbuild');

/** An entry script compiled for the image: one JavaScript file, its relative imports bundled in. */
export interface CompiledEntryScript {
  /** File name in the app root: the script's name with `.mjs` (ES module) or `.cjs` (CommonJS). */
  fileName: string;
  code: string;
  format: 'esm' | 'cjs';
  /** Packages it imports (left as imports; they ship in node_modules). */
  packages: string[];
  /** Named exports of an ES module (undefined for CommonJS, whose exports are only known at run time). */
  exports: string[] | undefined;
  /** Folder of the source script (its packages are resolved from here first). */
  sourceDir: string;
}

const SCRIPT_EXTENSIONS = new Set(['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts']);

/**
 * Compiles an entry script with esbuild at package time: TypeScript is turned into JavaScript, the
 * files it imports by relative path are bundled into it, and package imports stay imports (they are
 * added to the image's node_modules). The image then needs no TypeScript loader.
 */
export async function compileEntryScript(path: string): Promise<CompiledEntryScript> {
  const absolute = resolve(path);
  const ext = extname(absolute).toLowerCase();
  if (!SCRIPT_EXTENSIONS.has(ext)) {
    throw new UsageError(
      'ENTRY_SCRIPT_UNSUPPORTED',
      ext === '.py'
        ? `--entry-script ${path} is a Python script, but the scoring server runs Node: port init()/run() to a .js or .ts module`
        : `--entry-script ${path} is not a JavaScript or TypeScript file (${[...SCRIPT_EXTENSIONS].join(', ')})`,
      { hint: 'give a module that exports init() and run(data), as an Azure ML entry script does' },
    );
  }
  try {
    if (!(await stat(absolute)).isFile())
      throw new UsageError('ENTRY_SCRIPT_NOT_FILE', `--entry-script ${path} is not a file`);
  } catch (e) {
    if (isENOENT(e)) throw new UsageError('ENTRY_SCRIPT_NOT_FOUND', `--entry-script ${path} does not exist`);
    throw e;
  }
  const esm = await bundle(absolute, 'esm');
  const detected = esm.metafile.inputs[basename(absolute)]?.format;
  const format =
    ext === '.cjs' || ext === '.cts' || (detected === 'cjs' && ext !== '.mjs' && ext !== '.mts')
      ? 'cjs'
      : 'esm';
  const result = format === 'esm' ? esm : await bundle(absolute, 'cjs');
  const output = Object.values(result.metafile.outputs)[0];
  const packages = new Set<string>();
  for (const input of Object.values(result.metafile.inputs)) {
    for (const imported of input.imports) {
      if (!imported.external || isBuiltin(imported.path)) continue;
      const name = packageName(imported.path);
      if (name !== undefined) packages.add(name);
    }
  }
  return {
    fileName: `${basename(absolute, extname(absolute))}.${format === 'esm' ? 'mjs' : 'cjs'}`,
    code: result.outputFiles[0]?.text ?? '',
    format,
    packages: [...packages].sort(),
    exports: format === 'esm' ? (output?.exports ?? []) : undefined,
    sourceDir: dirname(absolute),
  };
}

async function bundle(absolute: string, format: 'esm' | 'cjs') {
  try {
    const result = await esbuild().build({
      entryPoints: [absolute],
      absWorkingDir: dirname(absolute),
      bundle: true,
      packages: 'external',
      platform: 'node',
      target: 'node20',
      format,
      write: false,
      metafile: true,
      outfile: `${absolute}.out.${format === 'esm' ? 'mjs' : 'cjs'}`,
      logLevel: 'silent',
    });
    return result as typeof result & { metafile: Metafile };
  } catch (e) {
    const errors = (e as { errors?: { text: string; location?: { file: string; line: number } | null }[] })
      .errors;
    const first = errors?.[0];
    throw new UsageError(
      'ENTRY_SCRIPT_INVALID',
      `--entry-script ${absolute} does not compile: ${first ? `${first.location ? `${first.location.file}:${first.location.line}: ` : ''}${first.text}` : messageOf(e)}`,
      { cause: e },
    );
  }
}
