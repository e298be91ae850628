import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** The URL of a module beside the caller: its compiled .js when there is one, else its .ts source. */
export function siblingModule(base: URL): URL {
  const js = new URL(`${base.href}.js`);
  return existsSync(fileURLToPath(js)) ? js : new URL(`${base.href}.ts`);
}

/**
 * Starts the module at `base` (a URL without extension) as a worker thread. From compiled JS the
 * worker is the .js file; from TypeScript sources (tests, tsx) a tiny bootstrap registers tsx in the
 * worker first, since --import in a worker's execArgv does not apply to its entry module.
 */
export function newWorker(base: URL, workerData: unknown, options: WorkerOptions = {}): Worker {
  const url = siblingModule(base);
  if (url.pathname.endsWith('.js')) return new Worker(url, { ...options, workerData });
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true, workerData });
}
