// A commit is durable only if the names that lead to it are: the -wal file's entry in the data
// directory, and the data directory's entries above it when the server created them. The child
// that commits runs under strace, which records every sync it makes and on what.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqlite, SqlitePartitionStore } from '../../src/store/index.ts';

const WRITER = fileURLToPath(new URL('./sqlite-wal-writer.ts', import.meta.url));
const HAS_STRACE = spawnSync('strace', ['-V']).status === 0;

/** Runs the writer under strace; returns its syncs and the marker access, in order. */
function traceWriter(dbPath: string, marker: string, traceFile: string): string[] {
  const run = spawnSync(
    'strace',
    ['-f', '-y', '-o', traceFile, '-e', 'trace=fsync,fdatasync,access,faccessat,faccessat2', process.execPath, '--import', 'tsx', WRITER, dbPath, marker],
    { encoding: 'utf8' },
  );
  expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
  return readFileSync(traceFile, 'utf8')
    .split('\n')
    .filter((l) => /\b(fsync|fdatasync)\(/.test(l) || l.includes(marker));
}

/** Index of the first successful fsync of the directory `dir`, or -1. */
function dirSyncAt(lines: string[], dir: string): number {
  return lines.findIndex((l) => l.includes(`fsync(`) && /\)\s+= 0$/.test(l) && l.includes(`<${dir}>)`));
}

describe.skipIf(!HAS_STRACE)('SQLite directory durability', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  it('a fresh data directory is synced into its parents before the first commit is durable', () => {
    const root = mkdtempSync(join(tmpdir(), 'endure-waldir-'));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    const dataDir = join(root, 'nested', 'data');
    const marker = join(root, 'durable-marker');
    const lines = traceWriter(join(dataDir, 'endure.db'), marker, join(root, 'strace.out'));
    const durable = lines.findIndex((l) => l.includes(marker));
    expect(durable, lines.join('\n')).toBeGreaterThanOrEqual(0);
    for (const dir of [root, join(root, 'nested'), dataDir]) {
      const at = dirSyncAt(lines, dir);
      expect(at, `fsync of ${dir}:\n${lines.join('\n')}`).toBeGreaterThanOrEqual(0);
      expect(at, `fsync of ${dir}:\n${lines.join('\n')}`).toBeLessThan(durable);
    }
  });

  it('a WAL file created at start (a clean shutdown removed the last one) is synced into the data directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'endure-waldir-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const dbPath = join(dir, 'endure.db');
    const first = openSqlite(dbPath);
    const store = new SqlitePartitionStore(first);
    await store.close();
    first.close();
    expect(existsSync(`${dbPath}-wal`)).toBe(false);

    const marker = join(dir, 'durable-marker');
    const lines = traceWriter(dbPath, marker, join(dir, 'strace.out'));
    const durable = lines.findIndex((l) => l.includes(marker));
    // The store's own WAL flush, and a directory sync after it (not only SQLite's, which is a
    // build option), both before the commit is reported durable.
    const flush = lines.findIndex((l) => /fdatasync\(\d+<[^>]*endure\.db-wal>\)\s+= 0$/.test(l));
    expect(flush, lines.join('\n')).toBeGreaterThanOrEqual(0);
    const dirSync = dirSyncAt(lines.slice(flush), dir);
    expect(dirSync, lines.join('\n')).toBeGreaterThanOrEqual(0);
    expect(flush + dirSync, lines.join('\n')).toBeLessThan(durable);
  });
});
