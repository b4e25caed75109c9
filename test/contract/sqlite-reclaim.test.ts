// Retention frees space on disk, not only inside SQLite: the database runs in incremental
// auto-vacuum mode (fresh or upgraded by migration 0010), and the reclaim pass gives the pages
// of deleted rows back to the file system while keeping a reserve for reuse.
import Database from 'better-sqlite3';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqlite } from '../../src/store/index.ts';
import { reclaimFreePages } from '../../src/store/sqlite/vacuum.ts';

const MIGRATIONS = join(import.meta.dirname, '..', '..', 'src', 'store', 'sqlite', 'migrations');

describe('SQLite space reclaim', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  function tempPath(): string {
    const dir = mkdtempSync(join(tmpdir(), 'endure-reclaim-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return join(dir, 'endure.db');
  }

  it('a fresh database is in incremental auto-vacuum mode', () => {
    const db = openSqlite(tempPath());
    cleanups.unshift(() => db.close());
    expect(db.pragma('auto_vacuum', { simple: true })).toBe(2);
  });

  it('a database created before migration 0010 is switched to incremental auto-vacuum', () => {
    const path = tempPath();
    const old = new Database(path);
    old.exec('CREATE TABLE schema_migration (version INTEGER PRIMARY KEY, name TEXT NOT NULL)');
    for (const file of readdirSync(MIGRATIONS).filter((f) => /^000[1-9]_.*\.sql$/.test(f)).sort()) {
      old.exec(readFileSync(join(MIGRATIONS, file), 'utf8'));
      old.prepare('INSERT INTO schema_migration (version, name) VALUES (?, ?)').run(Number(file.slice(0, 4)), file);
    }
    old.prepare('INSERT INTO log (partition, lsn, payload) VALUES (0, 1, ?)').run(Buffer.from('kept'));
    expect(old.pragma('auto_vacuum', { simple: true })).toBe(0);
    old.close();

    const db = openSqlite(path);
    cleanups.unshift(() => db.close());
    expect(db.pragma('auto_vacuum', { simple: true })).toBe(2);
    expect((db.prepare('SELECT payload FROM log').get() as { payload: Buffer }).payload.toString()).toBe('kept');
  });

  it('deleted rows give their pages back to the file system, keeping a reserve', () => {
    const path = tempPath();
    const db = openSqlite(path);
    cleanups.unshift(() => db.close());
    const insert = db.prepare('INSERT INTO log (partition, lsn, payload) VALUES (0, ?, ?)');
    const payload = Buffer.alloc(4000, 7);
    db.transaction(() => {
      for (let lsn = 1; lsn <= 10_000; lsn++) insert.run(lsn, payload);
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
    const full = statSync(path).size;
    expect(full).toBeGreaterThan(30 * 2 ** 20);

    db.prepare('DELETE FROM log WHERE partition = 0').run();
    db.pragma('wal_checkpoint(TRUNCATE)');
    // Deleting alone frees pages inside the file but does not shrink it.
    expect(statSync(path).size).toBe(full);
    const freeBefore = db.pragma('freelist_count', { simple: true }) as number;
    expect(freeBefore).toBeGreaterThan(9000);

    let passes = 0;
    while (reclaimFreePages(db).released > 0) passes++;
    db.pragma('wal_checkpoint(TRUNCATE)');
    // Several bounded passes, and the file is a fraction of what it was.
    expect(passes).toBeGreaterThan(1);
    expect(statSync(path).size).toBeLessThan(full / 4);
    // The reserve stays free for the next writes.
    const free = db.pragma('freelist_count', { simple: true }) as number;
    expect(free).toBeGreaterThan(0);
    expect(free).toBeLessThanOrEqual(1024);
  });
});
