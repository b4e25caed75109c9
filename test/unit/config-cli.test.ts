import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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
