// Start-up on an existing database file: an empty or damaged file is refused with a message that
// says what to do, and left as it was; a sound one opens, with or without the integrity check.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqlite, UnusableDatabaseError } from '../../src/store/index.ts';

const REPO_ROOT = join(import.meta.dirname, '..', '..');

describe('opening an existing SQLite database', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  function tempDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'endure-open-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  /** A database with a few hundred pages of state, then 16 KiB of its middle overwritten. */
  function damagedDatabase(dir: string): string {
    const path = join(dir, 'endure.db');
    const db = openSqlite(path);
    const insert = db.prepare('INSERT INTO state (service, key, name, value) VALUES (?, ?, ?, ?)');
    db.transaction(() => {
      for (let i = 0; i < 2000; i++) insert.run('Counter', `k${i}`, Buffer.from('count'), Buffer.alloc(100, i));
    })();
    db.close();
    const pages = statSync(path).size / 4096;
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.alloc(4 * 4096, 0xa5), 0, 4 * 4096, Math.floor(pages / 2) * 4096);
    closeSync(fd);
    return path;
  }

  it('a 0-byte database file is refused, not started as a fresh empty store', () => {
    const path = join(tempDir(), 'endure.db');
    writeFileSync(path, '');
    expect(() => openSqlite(path)).toThrow(UnusableDatabaseError);
    expect(() => openSqlite(path)).toThrow(/exists but is empty \(0 bytes\).*backup.*remove the data directory/);
    expect(statSync(path).size).toBe(0);
  });

  it('a file that is not a database is refused and left unchanged', () => {
    const path = join(tempDir(), 'endure.db');
    const garbage = Buffer.alloc(64 * 1024, 0x5a);
    writeFileSync(path, garbage);
    expect(() => openSqlite(path)).toThrow(/is not a usable database \(file is not a database\)/);
    expect(readFileSync(path).equals(garbage)).toBe(true);
  });

  it('a database with damaged pages fails the integrity check, and says how to start anyway', () => {
    const path = damagedDatabase(tempDir());
    const before = readFileSync(path);
    expect(() => openSqlite(path)).toThrow(/fails its integrity check \(PRAGMA quick_check: .*--skip-integrity-check/);
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('a damaged database with a WAL beside it is refused, and neither file is changed', () => {
    const dir = tempDir();
    const path = damagedDatabase(dir);
    // Commits left in the WAL by a process that died before any checkpoint (as after kill -9).
    const writer = spawnSync(process.execPath, ['--input-type=module', '-e', `
      import Database from 'better-sqlite3';
      const db = new Database(${JSON.stringify(path)});
      db.pragma('wal_autocheckpoint = 0');
      const insert = db.prepare('INSERT INTO meta (name, value) VALUES (?, ?)');
      db.transaction(() => { for (let i = 0; i < 200; i++) insert.run('wal-' + i, 'x'.repeat(200)); })();
      process.kill(process.pid, 'SIGKILL');
    `], { cwd: REPO_ROOT });
    expect(writer.signal, writer.stderr.toString()).toBe('SIGKILL');
    const wal = `${path}-wal`;
    const before = { db: readFileSync(path), wal: readFileSync(wal) };
    expect(before.wal.length).toBeGreaterThan(0);
    expect(() => openSqlite(path)).toThrow(/fails its integrity check/);
    // Closing the refused database must not checkpoint the WAL into the damaged file (or delete it):
    // whoever tries to recover the data needs both as they were.
    expect(readFileSync(path).equals(before.db)).toBe(true);
    expect(readFileSync(wal).equals(before.wal)).toBe(true);
  });

  it('skipping the integrity check opens a damaged database whose damage start-up does not touch', () => {
    const db = openSqlite(damagedDatabase(tempDir()), { integrityCheck: false });
    expect(db.prepare("SELECT value FROM meta WHERE name = 'partitions'").get()).toBeUndefined();
    db.close();
  });

  it('a sound database opens with its data, and a missing one is created', () => {
    const path = join(tempDir(), 'data', 'endure.db');
    const fresh = openSqlite(path);
    fresh.prepare("INSERT INTO meta (name, value) VALUES ('partitions', '4')").run();
    fresh.close();
    const again = openSqlite(path);
    expect(again.prepare("SELECT value FROM meta WHERE name = 'partitions'").get()).toEqual({ value: '4' });
    again.close();
  });

  it('the server refuses to start on a 0-byte database, exits non-zero and says what to do', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'endure.db'), '');
    const run = spawnSync(
      process.execPath,
      [join(REPO_ROOT, 'bin', 'endure.js'), 'server', '--data-dir', dir, '--ingress-bind', '127.0.0.1:0', '--admin-bind', '127.0.0.1:0'],
      { encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' },
    );
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^endure: refusing to start: the database .*endure\.db exists but is empty \(0 bytes\)\. Restore/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(statSync(join(dir, 'endure.db')).size).toBe(0);
  });
});
