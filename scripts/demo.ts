/**
 * `npm run demo`: the main job on embedded defaults. Builds the guide's sample model (a 10-feature
 * linear regression as ONNX), registers it in a temporary SQLite registry, serves it in-process,
 * sends the guide's sample request and prints the predictions. No Docker, no network, no cloud.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFixture } from '../test/support/onnx/fixtures.js';

const bin = join(import.meta.dirname, '..', 'bin', 'modelport.js');
const home = mkdtempSync(join(tmpdir(), 'modelport-demo-'));
const env = { ...process.env, MODELPORT_HOME: home };

function show(args: string[]): void {
  process.stdout.write(`\n$ modelport ${args.join(' ')}\n`);
}

function run(args: string[]): Promise<void> {
  show(args);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env, stdio: 'inherit' });
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`modelport ${args[0]} exited with ${code}`)),
    );
  });
}

function serve(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  show(args);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
      try {
        const doc = JSON.parse(out);
        process.stdout.write(out);
        resolve({ child, url: doc.result.url });
      } catch {
        // wait for the whole document
      }
    });
    child.on('exit', (code) => reject(new Error(`modelport serve exited with ${code}`)));
  });
}

async function main(): Promise<void> {
  process.stdout.write(`modelport demo — temporary registry in ${home}\n`);
  const modelFile = await writeFixture('regression10', join(home, 'sample'));
  await run([
    'model',
    'register',
    '--name',
    'sklearn_regression_model',
    '--path',
    modelFile,
    '--tag',
    'area=diabetes',
    '--tag',
    'type=regression',
  ]);
  await run(['model', 'show', 'sklearn_regression_model']);
  const { child, url } = await serve([
    'serve',
    '--model',
    'sklearn_regression_model:1',
    '--port',
    '0',
    '--json',
  ]);
  try {
    const body = JSON.stringify({
      data: [
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        [10, 9, 8, 7, 6, 5, 4, 3, 2, 1],
      ],
    });
    process.stdout.write(`\n$ curl -X POST ${url}/score -H 'Content-Type: application/json' -d '${body}'\n`);
    const response = await fetch(`${url}/score`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body,
    });
    const predictions = await response.text();
    if (!response.ok) throw new Error(`scoring failed: ${response.status} ${predictions}`);
    process.stdout.write(`\npredictions: ${predictions}\nswagger:     ${url}/swagger.json\n`);
  } finally {
    child.removeAllListeners('exit');
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(home, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`demo failed: ${(e as Error).message}\n`);
  rmSync(home, { recursive: true, force: true });
  process.exitCode = 1;
});
