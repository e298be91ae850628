import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../../common/errors.js';
import type { ModelRegistry } from '../registry/registry.js';
import type { ModelRecord } from '../registry/types.js';
import { scoringAppFiles } from './app-files.js';
import { dependencyClosure, isInstalledFrom, type RootImport } from './dependency-closure.js';
import { type ImageModel, type ImageSpec, renderDockerfile } from './dockerfile.js';
import { compileEntryScript } from './entry-script.js';
import { CONTEXT_DIRS } from './image-layout.js';
import type { ImageRef } from './image-ref.js';
import type { ModelportInstall } from './modelport-root.js';
import { emptyPruneStats, type PruneStats, packageFiles } from './package-files.js';
import type { PlatformFacts } from './platform.js';

/** One file of the build context: copied from disk or generated. Folders are implied by paths. */
export type ContextEntry =
  | { path: string; source: string; size: number; mode: number }
  | { path: string; data: Buffer; size: number; mode: number };

export interface ContextRequest {
  install: ModelportInstall;
  registry: ModelRegistry;
  /** Resolved model versions, in the order given. */
  models: readonly ModelRecord[];
  image: ImageRef;
  platform: PlatformFacts;
  baseImage: string;
  entryScript: string | undefined;
  created: Date;
}

export interface ContextSummary {
  files: number;
  bytes: number;
  /** Files and bytes per top-level folder of the context (node_modules, app, azureml-models, …). */
  parts: Record<string, { files: number; bytes: number }>;
  /** What pruning left out of node_modules, by reason. */
  pruned: PruneStats;
  packages: { name: string; version: string; target: string }[];
  skippedOptional: { name: string; reason: string; requiredBy: string }[];
}

export interface BuildContext {
  /** Sorted by path, the Dockerfile first. */
  entries: ContextEntry[];
  dockerfile: string;
  spec: ImageSpec;
  summary: ContextSummary;
}

/**
 * Imports of the scoring module that are not shipped: `modelport/…` is the server itself (its entry
 * worker resolves `modelport/scoring` for scripts with a loader hook), and `tsx` loads TypeScript entry
 * scripts only, which the packager compiles to JavaScript, so the image never needs it (saves ~10 MB of
 * esbuild binaries).
 */
const NOT_SHIPPED = new Set(['modelport', 'tsx']);

const FILE_MODE = 0o644;
const EXEC_MODE = 0o755;

/**
 * The one place a build context is put together, for both the engine build (streamed as a tar) and
 * `--output-dir` (written to disk): the rendered Dockerfile, production node_modules for the target
 * platform, the compiled scoring module with its package.json, the model files as NAME/VERSION/…,
 * and the compiled entry script.
 */
export async function assembleContext(request: ContextRequest): Promise<BuildContext> {
  const { install, platform } = request;
  const entry = request.entryScript === undefined ? undefined : await compileEntryScript(request.entryScript);
  const models = request.models.map((m) => imageModel(m, entry !== undefined));
  const app = await scoringAppFiles(install.dist);

  const roots: RootImport[] = [...app.packages]
    .filter(([name]) => !NOT_SHIPPED.has(name))
    .map(([name, importer]) => ({
      name,
      importer,
      fromDir: join(install.dist, ...importer.split('/'), '..'),
    }));
  for (const name of entry?.packages ?? []) {
    if (name === 'modelport') continue; // `modelport/scoring`: provided by the server at run time
    // The script's own project first (as Node would from its folder), then modelport's packages.
    const fromDir = (await isInstalledFrom(name, entry!.sourceDir)) ? entry!.sourceDir : install.dist;
    roots.push({ name, importer: `entry script ${entry!.fileName}`, fromDir });
  }
  const closure = await dependencyClosure(roots, platform);

  const entries: ContextEntry[] = [];
  const pruned = emptyPruneStats();
  for (const pkg of closure.packages) {
    for (const file of await packageFiles(pkg, platform, pruned)) {
      entries.push({
        path: file.target,
        source: file.source,
        size: file.size,
        mode: file.executable ? EXEC_MODE : FILE_MODE,
      });
    }
  }
  for (const file of app.files) {
    const data = await readFile(file.absolute);
    entries.push({ path: `${CONTEXT_DIRS.app}/${file.path}`, data, size: data.length, mode: FILE_MODE });
  }
  const topLevel = closure.packages.filter(
    (p) => !p.target.slice('node_modules/'.length).includes('node_modules/'),
  );
  const packageJson = {
    name: 'modelport-scoring',
    version: install.version,
    private: true,
    type: 'module',
    description: 'The modelport scoring server, as packaged into a module image',
    main: 'modules/scoring/main.js',
    dependencies: Object.fromEntries(
      topLevel.filter((p) => roots.some((r) => r.name === p.name)).map((p) => [p.name, p.version]),
    ),
  };
  entries.push(dataEntry(`${CONTEXT_DIRS.app}/package.json`, `${JSON.stringify(packageJson, null, 2)}\n`));
  for (const model of request.models) {
    for (const file of model.files) {
      entries.push({
        path: `${CONTEXT_DIRS.models}/${model.name}/${model.version}/${file.path}`,
        source: request.registry.blobPath(file),
        size: file.size,
        mode: FILE_MODE,
      });
    }
  }
  if (entry !== undefined)
    entries.push(dataEntry(`${CONTEXT_DIRS.entryScript}/${entry.fileName}`, entry.code));

  const spec: ImageSpec = {
    image: request.image,
    platform,
    baseImage: request.baseImage,
    models,
    entryScript: entry?.fileName,
    modelportVersion: install.version,
    source: install.repository,
    created: request.created,
  };
  const template = await readFile(join(install.root, platform.template), 'utf8');
  const dockerfile = renderDockerfile(template, spec);
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  entries.unshift(dataEntry('Dockerfile', dockerfile));
  return {
    entries,
    dockerfile,
    spec,
    summary: summarize(entries, pruned, closure),
  };
}

function imageModel(model: ModelRecord, hasEntryScript: boolean): ImageModel {
  if (model.onnx === null && !hasEntryScript) {
    throw new UsageError(
      'MODEL_NOT_ONNX',
      `model ${model.name}:${model.version} has no ONNX graph (framework ${model.framework}) and no entry script was given`,
      { hint: 'package an ONNX model, or give --entry-script with init()/run() that loads this model' },
    );
  }
  return { name: model.name, version: model.version, digest: model.digest, onnxFile: model.onnx?.file };
}

function dataEntry(path: string, text: string): ContextEntry {
  const data = Buffer.from(text, 'utf8');
  return { path, data, size: data.length, mode: FILE_MODE };
}

function summarize(
  entries: ContextEntry[],
  pruned: PruneStats,
  closure: Awaited<ReturnType<typeof dependencyClosure>>,
): ContextSummary {
  const parts: ContextSummary['parts'] = {};
  let bytes = 0;
  for (const entry of entries) {
    const top = entry.path.includes('/') ? entry.path.slice(0, entry.path.indexOf('/')) : entry.path;
    const part = parts[top] ?? { files: 0, bytes: 0 };
    parts[top] = part;
    part.files++;
    part.bytes += entry.size;
    bytes += entry.size;
  }
  return {
    files: entries.length,
    bytes,
    parts,
    pruned,
    packages: closure.packages.map((p) => ({ name: p.name, version: p.version, target: p.target })),
    skippedOptional: closure.skipped,
  };
}
