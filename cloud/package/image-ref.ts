import { UsageError } from '../../common/errors.js';

/** A parsed `[REGISTRY/]REPOSITORY[:TAG]` image reference, as the Docker engine reads it. */
export interface ImageRef {
  /** `host[:port]`, or undefined for Docker Hub. */
  registry: string | undefined;
  /** Path inside the registry (`team/scoring`); Docker Hub's official images get `library/`. */
  repository: string;
  tag: string;
  /** `sha256:…` when the reference pins content (base images only). */
  digest?: string;
  /** Name as the engine tags it: `registry/repository` (or the Hub short form as given). */
  name: string;
  /** `name:tag`, or `name[:tag]@digest`. */
  reference: string;
}

// The distribution reference grammar (github.com/distribution/reference, regexp.go).
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN =
  /^(?:\[[0-9a-fA-F:]+\]|[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*)(?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}$/;
const MAX_NAME_LENGTH = 255;

/** Docker Hub's address in authconfig `serveraddress` (what `docker login` stores). */
export const DOCKER_HUB_AUTH_ADDRESS = 'https://index.docker.io/v1/';

/**
 * Parses an image reference. A tag is optional (`latest`, as Docker does). A digest is accepted only
 * with `allowDigest` (a base image may be pinned; a build target cannot be, since a digest names
 * content that does not exist before the build).
 */
export function parseImageRef(text: string, option = '--image', allowDigest = false): ImageRef {
  const invalid = (why: string) =>
    new UsageError('IMAGE_REF_INVALID', `${option} '${text}' is not a valid image reference: ${why}`, {
      hint: 'write REPOSITORY:TAG or REGISTRY/REPOSITORY:TAG, e.g. myregistry.azurecr.io/scoring:1.0',
    });
  const at = text.indexOf('@');
  if (at !== -1 && !allowDigest) throw invalid('a digest cannot be the target of a build; give a tag');
  const digest = at === -1 ? undefined : text.slice(at + 1);
  if (digest !== undefined && !DIGEST.test(digest)) throw invalid(`'${digest}' is not a digest (sha256:…)`);
  const named = at === -1 ? text : text.slice(0, at);
  const lastSlash = named.lastIndexOf('/');
  const lastColon = named.lastIndexOf(':');
  const hasTag = lastColon > lastSlash;
  const name = hasTag ? named.slice(0, lastColon) : named;
  const tag = hasTag ? named.slice(lastColon + 1) : 'latest';
  if (!TAG.test(tag)) throw invalid(`tag '${tag}' must be letters, digits, '_', '.' or '-' (max 128)`);
  if (name.length === 0) throw invalid('the repository is empty');
  if (name.length > MAX_NAME_LENGTH) throw invalid(`the name is longer than ${MAX_NAME_LENGTH} characters`);
  const parts = name.split('/');
  const first = parts[0] ?? '';
  const isDomain =
    parts.length > 1 &&
    (first.includes('.') || first.includes(':') || first === 'localhost' || /[A-Z]/.test(first));
  if (isDomain && !DOMAIN.test(first)) throw invalid(`registry '${first}' is not a host[:port]`);
  const path = isDomain ? parts.slice(1) : parts;
  for (const component of path) {
    if (!PATH_COMPONENT.test(component)) {
      throw invalid(
        `'${component}' must be lowercase letters and digits, separated by '.', '_', '__' or '-'`,
      );
    }
  }
  const registry = isDomain ? first : undefined;
  const repository = registry === undefined && path.length === 1 ? `library/${path[0]}` : path.join('/');
  if (digest !== undefined) return { registry, repository, tag, digest, name, reference: text };
  return { registry, repository, tag, name, reference: `${name}:${tag}` };
}

/** The registry address for authconfig `serveraddress`. */
export function authServerAddress(ref: ImageRef): string {
  return ref.registry ?? DOCKER_HUB_AUTH_ADDRESS;
}

/** The registry as a person names it in a message. */
export function registryLabel(ref: ImageRef): string {
  return ref.registry ?? 'Docker Hub (docker.io)';
}
