import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import tar from 'tar-stream';
import { expect } from 'vitest';
import { type CliRun, runModelport } from '../../support/cli.js';
import { findExecutable } from '../../support/engine/run.js';
import { type FixtureName, writeFixture } from '../../support/onnx/fixtures.js';

/** A short id that keeps this run's image names apart from other runs on the same engine and registry. */
export const RUN_ID = randomBytes(3).toString('hex');

/** Registers fixtures in a fresh MODELPORT_HOME with the real CLI; returns the env to pass to it. */
export async function registerFixtures(home: string, names: FixtureName[]): Promise<NodeJS.ProcessEnv> {
  const env = { MODELPORT_HOME: home };
  for (const name of names) {
    const file = await writeFixture(name, join(home, 'src', name));
    const r = await runModelport(['model', 'register', '--name', name, '--path', file, '--json'], env);
    expect(r.code, r.stderr).toBe(0);
  }
  return env;
}

/** Runs `modelport package … --json` with the real binary. */
export function runPackage(args: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  return runModelport(['package', ...args, '--json'], env);
}

/** Tags the registry holds for a repository (`GET /v2/<repo>/tags/list`); none when the repository is unknown. */
export async function registryTags(registry: string, repository: string, auth?: string): Promise<string[]> {
  const res = await fetch(`http://${registry}/v2/${repository}/tags/list`, {
    headers: auth ? { authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {},
  });
  if (res.status === 404) return [];
  expect(res.status).toBe(200);
  return ((await res.json()) as { tags: string[] | null }).tags ?? [];
}

/** True when the engine has an image by this name. */
export async function imageExists(docker: Docker, name: string): Promise<boolean> {
  try {
    await docker.getImage(name).inspect();
    return true;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return false;
    throw e;
  }
}

/**
 * Removes images by name, ignoring ones already gone. Their parent layers stay (`noprune`): they are
 * build cache that a build in a parallel test file may be using at this moment, and pruning them fails
 * that build ("No such image"). A private engine is deleted whole after the run.
 */
export async function removeImages(docker: Docker, names: readonly string[]): Promise<void> {
  for (const name of names) {
    await docker
      .getImage(name)
      .remove({ force: true, noprune: true })
      .catch((e: { statusCode?: number }) => {
        if (e.statusCode !== 404) throw e;
      });
  }
}

export interface ImageFile {
  size: number;
  mode: number;
  uid: number;
  sha256: string;
}

/**
 * The files of an image under `prefix` (path → size, mode, owner, sha256), read from the file system of
 * a created (never started) container.
 */
export async function imageFiles(
  docker: Docker,
  image: string,
  prefix: string,
): Promise<Map<string, ImageFile>> {
  const container = await docker.createContainer({ Image: image, Cmd: ['true'] });
  try {
    const files = new Map<string, ImageFile>();
    const extract = tar.extract();
    extract.on('entry', (header, stream, next) => {
      const name = header.name.replace(/^\.?\//, '');
      if (header.type !== 'file' || !`/${name}`.startsWith(prefix)) {
        stream.resume();
        stream.on('end', next);
        return;
      }
      const hash = createHash('sha256');
      stream.on('data', (chunk: unknown) => {
        hash.update(chunk as Buffer);
      });
      stream.on('end', () => {
        files.set(`/${name}`, {
          size: header.size ?? 0,
          mode: (header.mode ?? 0) & 0o7777,
          uid: header.uid ?? -1,
          sha256: hash.digest('hex'),
        });
        next();
      });
    });
    const done = new Promise<void>((resolve, reject) => {
      extract.on('finish', resolve);
      extract.on('error', reject);
    });
    (await container.export()).pipe(extract);
    await done;
    return files;
  } finally {
    await container.remove({ force: true });
  }
}

/** The whole `docker save` tar of an image, as one buffer (for scanning every layer and the config). */
export async function savedImage(docker: Docker, image: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await docker.getImage(image).get()) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Runs the real `docker` CLI against the test engine. */
export async function dockerCli(
  args: string[],
  dockerHost: string,
): Promise<{ stdout: string; stderr: string }> {
  const docker = await findExecutable('docker');
  if (docker === undefined) throw new Error('the docker CLI is not installed (Debian docker.io ships it)');
  return new Promise((resolve, reject) => {
    execFile(
      docker,
      args,
      { env: { ...process.env, DOCKER_HOST: dockerHost }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`docker ${args.join(' ')}: ${stderr}`)) : resolve({ stdout, stderr }),
    );
  });
}

/** A file with `files` under `dir` (for entry scripts and the like). */
export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

/** POST JSON and return status and parsed body. */
export async function postJson(url: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}
