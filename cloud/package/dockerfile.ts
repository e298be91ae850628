import { ModelportError, UsageError } from '../../common/errors.js';
import { APP_ROOT, CONTEXT_DIRS, MODELS_ROOT, modelDir } from './image-layout.js';
import type { ImageRef } from './image-ref.js';
import type { PlatformFacts } from './platform.js';

/** One model version going into the image. */
export interface ImageModel {
  name: string;
  version: number;
  digest: string;
  /** The ONNX graph relative to the model folder ('/'-separated); undefined for non-ONNX models. */
  onnxFile: string | undefined;
}

/** Everything about an image that is not file content: what the Dockerfile declares. */
export interface ImageSpec {
  image: ImageRef;
  platform: PlatformFacts;
  baseImage: string;
  models: readonly ImageModel[];
  /** File name of the compiled entry script inside APP_ROOT, when one is packaged. */
  entryScript: string | undefined;
  modelportVersion: string;
  /** Repository URL of modelport, for `org.opencontainers.image.source`, when package.json has one. */
  source: string | undefined;
  created: Date;
}

export const DEFAULT_BASE_IMAGE = 'node:20-bookworm-slim';

const MARKERS = {
  entryScript: '#@modelport:entry-script',
  env: '#@modelport:env',
  labels: '#@modelport:labels',
} as const;
const BASE_IMAGE_ARG = /^ARG BASE_IMAGE=.*$/m;

/**
 * The model-specific environment, as Azure ML sets it: AZUREML_MODEL_DIR is the model's folder for one
 * model and the folder holding NAME/VERSION/ for several; MODELPORT_MODELS names each model's graph.
 */
export function imageEnv(spec: Pick<ImageSpec, 'models' | 'entryScript'>): Record<string, string> {
  const [first, ...rest] = spec.models;
  if (first === undefined) throw new UsageError('NO_MODELS', 'an image holds at least one model');
  const env: Record<string, string> = {
    AZUREML_MODEL_DIR: rest.length === 0 ? modelDir(first.name, first.version) : MODELS_ROOT,
    MODELPORT_MODELS: JSON.stringify(
      spec.models.map((m) => ({
        name: m.name,
        version: String(m.version),
        ...(m.onnxFile === undefined ? {} : { file: m.onnxFile }),
      })),
    ),
  };
  if (spec.entryScript !== undefined) env.AZUREML_ENTRY_SCRIPT = `${APP_ROOT}/${spec.entryScript}`;
  return env;
}

/** OCI annotations plus modelport's own labels (what manifests and the agent read back). */
export function imageLabels(spec: ImageSpec): Record<string, string> {
  const refs = spec.models.map((m) => `${m.name}:${m.version}`).join(', ');
  const first = spec.models[0];
  if (first === undefined) throw new UsageError('NO_MODELS', 'an image holds at least one model');
  const title = spec.image.name.split('/').pop() ?? spec.image.name;
  return {
    'org.opencontainers.image.title': title,
    'org.opencontainers.image.description': `Scores ${refs} with onnxruntime-node (modelport ${spec.modelportVersion})`,
    'org.opencontainers.image.version': spec.image.tag,
    'org.opencontainers.image.created': spec.created.toISOString(),
    ...(spec.source === undefined ? {} : { 'org.opencontainers.image.source': spec.source }),
    'org.opencontainers.image.base.name': spec.baseImage,
    'com.modelport.version': spec.modelportVersion,
    'com.modelport.platform': spec.platform.platform,
    'com.modelport.models': JSON.stringify(
      spec.models.map((m) => ({ name: m.name, version: m.version, digest: m.digest })),
    ),
    'com.modelport.model.name': first.name,
    'com.modelport.model.version': String(first.version),
    'com.modelport.model.digest': first.digest,
  };
}

/**
 * A Dockerfile double-quoted string: `\`, `"` and `$` escaped, so values (JSON, file names) reach the
 * image unchanged. Control characters have no Dockerfile spelling and are refused.
 */
export function dockerfileQuote(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new UsageError('DOCKERFILE_VALUE_INVALID', `${JSON.stringify(value)} holds a control character`, {
      hint: 'model file names and labels must not contain newlines, tabs or other control characters',
    });
  }
  return `"${value.replace(/[\\"$]/g, (c) => `\\${c}`)}"`;
}

/** Renders a top-level template (Dockerfile, Dockerfile.arm64) for one image. */
export function renderDockerfile(template: string, spec: ImageSpec): string {
  for (const marker of Object.values(MARKERS)) {
    const count = template.split('\n').filter((line) => line.trim() === marker).length;
    if (count !== 1) {
      throw new ModelportError(
        'DOCKERFILE_TEMPLATE_INVALID',
        `the Dockerfile template has ${count} '${marker}' lines (expected one)`,
        { hint: 'restore the Dockerfile templates of the modelport installation' },
      );
    }
  }
  if (!BASE_IMAGE_ARG.test(template)) {
    throw new ModelportError(
      'DOCKERFILE_TEMPLATE_INVALID',
      'the Dockerfile template has no ARG BASE_IMAGE=',
      {
        hint: 'restore the Dockerfile templates of the modelport installation',
      },
    );
  }
  const entry =
    spec.entryScript === undefined
      ? '# (no entry script: the scoring server answers /score from the model itself)'
      : `COPY ${CONTEXT_DIRS.entryScript}/ ${APP_ROOT}/`;
  const replacements: Record<string, string> = {
    [MARKERS.entryScript]: entry,
    // One instruction each: every step after the COPYs is a container commit in the classic builder.
    [MARKERS.env]: instruction(
      'ENV',
      Object.entries(imageEnv(spec)).map(([k, v]) => `${k}=${dockerfileQuote(v)}`),
    ),
    [MARKERS.labels]: instruction(
      'LABEL',
      Object.entries(imageLabels(spec)).map(([k, v]) => `${dockerfileQuote(k)}=${dockerfileQuote(v)}`),
    ),
  };
  return template
    .replace(BASE_IMAGE_ARG, () => `ARG BASE_IMAGE=${spec.baseImage}`)
    .split('\n')
    .map((line) => replacements[line.trim()] ?? line)
    .join('\n');
}

/** `KEYWORD a \` / `      b` …: one instruction over several lines. */
function instruction(keyword: string, pairs: string[]): string {
  const indent = ' '.repeat(keyword.length + 1);
  return pairs
    .map((pair, i) => `${i === 0 ? `${keyword} ` : indent}${pair}${i < pairs.length - 1 ? ' \\' : ''}`)
    .join('\n');
}
