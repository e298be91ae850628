import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A CommonJS package loaded on first use instead of at start. dockerode (with its gRPC stack), esbuild
 * and autocannon together cost a CLI process ~0.3 s to load; `modelport model list` or a usage error
 * should not pay that for code it never runs.
 */
export function lazyRequire<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => {
    loaded ??= require(name) as T;
    return loaded;
  };
}
