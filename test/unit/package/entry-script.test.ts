import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { compileEntryScript } from '../../../cloud/package/entry-script.js';
import { tempDir } from '../../support/tmp.js';

let work: ReturnType<typeof tempDir> | undefined;
afterEach(() => work?.cleanup());

function write(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

describe('compileEntryScript', () => {
  it('compiles TypeScript to one ES module, bundling relative imports and keeping package imports', async () => {
    work = tempDir('entry');
    write(work.path, {
      'src/score.ts': [
        "import { scale } from './lib/scale.js';",
        "import { getModelPath } from 'modelport/scoring';",
        "import * as ort from 'onnxruntime-node';",
        'let factor: number = 0;',
        'export function init(): void { factor = scale(2); void getModelPath; void ort; }',
        'export function run(raw: string): number[] { return (JSON.parse(raw) as number[]).map((x) => x * factor); }',
      ].join('\n'),
      'src/lib/scale.ts': 'export const scale = (x: number): number => x * 10;\n',
    });
    const compiled = await compileEntryScript(join(work.path, 'src', 'score.ts'));
    expect(compiled.fileName).toBe('score.mjs');
    expect(compiled.format).toBe('esm');
    expect(compiled.packages).toEqual(['modelport', 'onnxruntime-node']);
    expect(compiled.exports?.sort()).toEqual(['init', 'run']);
    expect(compiled.code).not.toMatch(/from ["']\.\/lib/);
    expect(compiled.code).not.toContain(': number');
    // The output really runs: write it beside stand-ins for the two packages and call it.
    const out = join(work.path, 'out');
    write(out, {
      'node_modules/onnxruntime-node/package.json': '{"name":"onnxruntime-node","main":"i.js"}',
      'node_modules/onnxruntime-node/i.js': 'module.exports = {};',
      'node_modules/modelport/package.json': '{"name":"modelport","exports":{"./scoring":"./s.mjs"}}',
      'node_modules/modelport/s.mjs': 'export const getModelPath = () => "";',
      [compiled.fileName]: compiled.code,
    });
    const mod = (await import(pathToFileURL(join(out, compiled.fileName)).href)) as {
      init: () => void;
      run: (raw: string) => number[];
    };
    mod.init();
    expect(mod.run('[1, 2]')).toEqual([20, 40]);
  });

  it('keeps a CommonJS script CommonJS', async () => {
    work = tempDir('entry');
    write(work.path, {
      'score.js':
        "const helper = require('./helper.js');\nmodule.exports = { init() {}, run: (d) => helper(d) };\n",
      'helper.js': 'module.exports = (d) => d.length;\n',
    });
    const compiled = await compileEntryScript(join(work.path, 'score.js'));
    expect(compiled).toMatchObject({
      fileName: 'score.cjs',
      format: 'cjs',
      packages: [],
      exports: undefined,
    });
    expect(compiled.code).not.toContain("require('./helper.js')");
  });

  it.each([
    ['score.py', 'def run(data): pass\n', 'ENTRY_SCRIPT_UNSUPPORTED', /port init\(\)\/run\(\)/],
    ['broken.ts', 'export function run( {\n', 'ENTRY_SCRIPT_INVALID', /broken\.ts:2/],
    [
      'imports-missing.ts',
      "import './nope.js';\nexport const run = () => 1;\n",
      'ENTRY_SCRIPT_INVALID',
      /nope\.js/,
    ],
  ])('refuses %s', async (file, content, code, text) => {
    work = tempDir('entry');
    write(work.path, { [file]: content });
    const failure = compileEntryScript(join(work.path, file));
    await expect(failure).rejects.toThrow(expect.objectContaining({ code, exitCode: 2 }));
    await expect(compileEntryScript(join(work.path, file))).rejects.toThrow(text);
  });

  it('says when the script does not exist', async () => {
    await expect(compileEntryScript('/nonexistent/score.ts')).rejects.toThrow(
      expect.objectContaining({
        code: 'ENTRY_SCRIPT_NOT_FOUND',
        message: '--entry-script /nonexistent/score.ts does not exist',
      }),
    );
  });
});
