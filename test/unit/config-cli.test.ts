import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/endure.js');

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], opts: { env?: Record<string, string>; onStdout?: (text: string, kill: (s: NodeJS.Signals) => void) => void } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
      opts.onStdout?.(stdout, (s) => child.kill(s));
    });
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

describe('endure CLI', () => {
  it('prints help', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('server');
    expect(r.stdout).toContain('deployments');
  });

  it('rejects a bad bind address with a clear message and exit code 2', async () => {
    const r = await run(['server', '--ingress-bind', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--ingress-bind: expected host:port, got "nope"');
    expect(r.stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it('names the environment variable of a bad value', async () => {
    const r = await run(['server'], { env: { ENDURE_PARTITIONS: 'many' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ENDURE_PARTITIONS: expected an integer between 1 and 1024, got "many"');
  });

  it('refuses to start when the admin token file cannot be read, naming the flag and the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'endure-cli-'));
    try {
      const missing = join(dir, 'no-such-tokens');
      const r = await run(['server', '--data-dir', dir, '--ingress-bind', '127.0.0.1:0', '--admin-bind', '127.0.0.1:0', '--admin-token-file', missing]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`--admin-token-file: cannot read the token file ${missing} (ENOENT)`);
      expect(r.stderr).not.toMatch(/\bat .*\.ts:\d+/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails with a clear message when the admin API is unreachable', async () => {
    const r = await run(['services', 'list', '--admin-url', 'http://127.0.0.1:9']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot reach the admin API at http://127.0.0.1:9');
  });

  it(
    'starts a server and shuts it down cleanly on SIGTERM',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'endure-cli-'));
      try {
        let signalled = false;
        const r = await run(
          ['server', '--data-dir', dir, '--ingress-bind', '127.0.0.1:0', '--admin-bind', '127.0.0.1:0', '--partitions', '2'],
          {
            onStdout: (text, kill) => {
              if (!signalled && text.includes('endure started')) {
                signalled = true;
                kill('SIGTERM');
              }
            },
          },
        );
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(r.stdout).toContain('shutting down');
        expect(r.stdout).toContain('"msg":"stopped"');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    20_000,
  );
});

/** The rows of README.md's flag table: flag, variable, default (backticks removed). */
function readmeFlagTable(): { flag: string; env: string; defaultValue: string | undefined }[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const rows: { flag: string; env: string; defaultValue: string | undefined }[] = [];
  for (const line of readme.split('\n')) {
    const m = /^\| `(--[a-z0-9-]+)` \| `(ENDURE_[A-Z0-9_]+)` \| ([^|]*) \|/.exec(line);
    if (!m) continue;
    const cell = (m[3] as string).trim();
    rows.push({ flag: m[1] as string, env: m[2] as string, defaultValue: /^`[^`]+`$/.test(cell) ? cell.slice(1, -1) : undefined });
  }
  return rows;
}

/** The flags `endure server --help` lists, with whether each takes a value. */
function helpFlags(help: string): Map<string, boolean> {
  const flags = new Map<string, boolean>();
  for (const m of help.matchAll(/^\s+(--[a-z0-9-]+)( <[^>]+>)?/gm)) flags.set(m[1] as string, m[2] !== undefined);
  flags.delete('--help');
  return flags;
}

describe('README flag table', () => {
  it('lists exactly the flags that `endure server --help` lists, with their variables', async () => {
    const table = readmeFlagTable();
    expect(table.length).toBeGreaterThan(10);
    const r = await run(['server', '--help']);
    expect(r.code).toBe(0);
    const listed = helpFlags(r.stdout);
    expect([...listed.keys()].sort()).toEqual(table.map((row) => row.flag).sort());
    for (const row of table) expect(r.stdout).toContain(row.env);
  });

  it(
    'documents flags the server accepts: every flag given its documented default starts a server',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'endure-flags-'));
      try {
        const help = helpFlags((await run(['server', '--help'])).stdout);
        const overrides: Record<string, string> = {
          '--data-dir': dir,
          '--ingress-bind': '127.0.0.1:0',
          '--admin-bind': '127.0.0.1:0',
          '--partitions': '2',
        };
        const args: string[] = [];
        for (const row of readmeFlagTable()) {
          const value = overrides[row.flag] ?? row.defaultValue;
          if (help.get(row.flag) === false) {
            if (value === 'true') args.push(row.flag);
          } else if (value !== undefined) {
            args.push(row.flag, value);
          }
        }
        expect(args).toContain('--retry-on-max-attempts');
        let signalled = false;
        const r = await run(['server', ...args], {
          onStdout: (text, kill) => {
            if (!signalled && text.includes('endure started')) {
              signalled = true;
              kill('SIGTERM');
            }
          },
        });
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    20_000,
  );
});
