/**
 * The linter keeps the module boundaries of DESIGN.md §2 (biome.jsonc): these tests place small
 * files that cross a boundary in the real source tree, run the real linter on them and expect it
 * to fail, with a clean control next to each so a broken configuration cannot pass for a rule.
 */
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

/** Linting under load (two cores shared with other suites) can take tens of seconds. */
const TIMEOUT_MS = 180_000;

const ROOT = join(import.meta.dirname, '../..');
const BIOME = join(ROOT, 'node_modules/@biomejs/biome/bin/biome');

/** Files this test wrote into src/, removed after each test whatever happened. */
const written: string[] = [];

afterEach(() => {
  for (const file of written.splice(0)) rmSync(file, { force: true });
});

/** Writes a file under src/ with a name no real module has; returns its path relative to the root. */
function place(folder: string, name: string, text: string): string {
  const rel = `src/${folder}/zz-lint-probe-${process.pid}-${name}.ts`;
  written.push(join(ROOT, rel));
  writeFileSync(join(ROOT, rel), text);
  return rel;
}

/** The [file, rule] of every diagnostic in Biome's default report. */
function diagnostics(output: string): [string, string][] {
  return [...output.matchAll(/^(\S+\.ts):\d+:\d+ (lint\/\S+)/gm)].map((m) => [m[1]!, m[2]!]);
}

function lint(...files: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIOME, 'lint', '--error-on-warnings', '--max-diagnostics=50', ...files], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

// One linter run checks every probe: each run scans the whole tree for the import graph.
describe('module boundaries', () => {
  it('imports of worker/ from store/ or log/, at any depth, and a two-file import cycle fail the lint', { timeout: TIMEOUT_MS }, async () => {
    const store = place('store', 'store', "import type { Worker } from '../worker/index.ts';\n\nexport type Probe = Worker;\n");
    const deep = place('store/sqlite', 'deep', "import type { Command } from '../../worker/model.ts';\n\nexport type Probe = Command;\n");
    const log = place('log', 'log', "import type { Command } from '../worker/model.ts';\n\nexport type Probe = Command;\n");
    // Type-only imports count: a cycle of types is still a cycle between the modules.
    const a = place('common', 'cycle-a', `import type { B } from './zz-lint-probe-${process.pid}-cycle-b.ts';\n\nexport type A = B | 'a';\n`);
    const b = place('common', 'cycle-b', `import type { A } from './zz-lint-probe-${process.pid}-cycle-a.ts';\n\nexport type B = A | 'b';\n`);
    const { code, output } = await lint(store, deep, log, a, b);
    expect(code, output).not.toBe(0);
    const found = diagnostics(output);
    expect(found).toContainEqual([store, 'lint/style/noRestrictedImports']);
    expect(found).toContainEqual([deep, 'lint/style/noRestrictedImports']);
    expect(found).toContainEqual([log, 'lint/style/noRestrictedImports']);
    expect(found).toContainEqual([a, 'lint/suspicious/noImportCycles']);
    expect(found).toContainEqual([b, 'lint/suspicious/noImportCycles']);
    expect(output).toContain('store/ must not import worker/');
    expect(output).toContain('log/ must not import worker/');
  });

  it('the same probes pass once store/ and log/ take the records from types/ and the cycle loses its back edge', { timeout: TIMEOUT_MS }, async () => {
    const store = place('store', 'store', "import type { Command } from '../types/index.ts';\n\nexport type Probe = Command;\n");
    const deep = place('store/sqlite', 'deep', "import type { Command } from '../../types/index.ts';\n\nexport type Probe = Command;\n");
    const log = place('log', 'log', "import type { Command } from '../types/index.ts';\n\nexport type Probe = Command;\n");
    const a = place('common', 'cycle-a', `import type { B } from './zz-lint-probe-${process.pid}-cycle-b.ts';\n\nexport type A = B | 'a';\n`);
    const b = place('common', 'cycle-b', "export type B = 'b';\n");
    const { code, output } = await lint(store, deep, log, a, b);
    expect(diagnostics(output)).toEqual([]);
    expect(code, output).toBe(0);
  });
});
