import { UsageError } from '../../common/errors.js';
import type { ModelRef } from './types.js';

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

/** Model names as Azure ML allows them: letters, digits, '.', '_', '-', starting with a letter or digit. */
export function assertModelName(name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new UsageError(
      'MODEL_NAME_INVALID',
      `model name '${name}' is not valid: use letters, digits, '.', '_' or '-', starting with a letter or digit (max 255)`,
    );
  }
}

/** Parses `N`, `N:V` or `N:latest`. A bare name means the latest version. */
export function parseModelRef(text: string): ModelRef {
  const colon = text.lastIndexOf(':');
  const name = colon === -1 ? text : text.slice(0, colon);
  const versionText = colon === -1 ? 'latest' : text.slice(colon + 1);
  assertModelName(name);
  if (versionText === 'latest') return { name, version: 'latest' };
  if (!/^[1-9][0-9]{0,8}$/.test(versionText)) {
    throw new UsageError(
      'MODEL_REF_INVALID',
      `'${text}' is not a model reference: expected NAME, NAME:VERSION or NAME:latest`,
      {
        hint: 'versions are positive integers, e.g. mymodel:3',
      },
    );
  }
  return { name, version: Number(versionText) };
}

export function formatModelRef(ref: { name: string; version: number | 'latest' }): string {
  return `${ref.name}:${ref.version}`;
}
