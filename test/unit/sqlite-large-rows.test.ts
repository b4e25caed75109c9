// Rows that carry message bodies (up to the 10 MiB ingress limit) must not sit in a WITHOUT
// ROWID table: there the whole row is the b-tree key, and SQLite reads every byte of a key
// that spills onto overflow pages to compare against it, so after one 10 MB body every insert
// whose search passes that row reads 10 MB again (measured: appends to the log took 8x longer
// and blocked the event loop for seconds, until the log was trimmed).
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqlite } from '../../src/store/sqlite/db.ts';

const BODY_TABLES = ['log', 'journal', 'state', 'outbox', 'timer', 'promise'] as const;
const MIGRATIONS = join(import.meta.dirname, '../../src/store/sqlite/migrations');

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function tableSql(db: Database.Database, name: string): string {
  return (db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) as { sql: string }).sql;
}

describe('tables that hold message bodies', () => {
  it('keep the bodies out of their b-tree keys (rowid tables) in a new database', () => {
    dir = mkdtempSync(join(tmpdir(), 'endure-large-rows-'));
    const db = openSqlite(join(dir, 'endure.db'));
    try {
      for (const table of BODY_TABLES) expect(tableSql(db, table), table).not.toMatch(/WITHOUT\s+ROWID/i);
    } finally {
      db.close();
    }
  });

  it('are rebuilt as rowid tables in an existing database, keeping every row and the primary keys', () => {
    dir = mkdtempSync(join(tmpdir(), 'endure-large-rows-'));
    const path = join(dir, 'endure.db');
    // A data directory as the first two migrations left it.
    const old = new Database(path);
    old.exec('CREATE TABLE schema_migration (version INTEGER PRIMARY KEY, name TEXT NOT NULL)');
    for (const file of ['0001_initial.sql', '0002_signals_promises.sql']) {
      old.exec(readFileSync(join(MIGRATIONS, file), 'utf8'));
      old.prepare('INSERT INTO schema_migration (version, name) VALUES (?, ?)').run(Number(file.slice(0, 4)), file);
    }
    const big = Buffer.alloc(200_000, 7);
    old.prepare('INSERT INTO log (partition, lsn, payload) VALUES (?, ?, ?)').run(3, 41, big);
    old.prepare('INSERT INTO journal (invocation_id, idx, type, completion_id, body, signal_name) VALUES (?, ?, ?, ?, ?, ?)').run('inv_1', 0, 0x400, null, big, 'sig');
    old.prepare('INSERT INTO state (service, key, name, value) VALUES (?, ?, ?, ?)').run('Counter', 'a', Buffer.from('total'), big);
    old.prepare('INSERT INTO outbox (partition, seq, payload) VALUES (?, ?, ?)').run(3, 1, big);
    old.prepare('INSERT INTO timer (partition, fire_at, timer_key, payload) VALUES (?, ?, ?, ?)').run(3, 1000, 't1', big);
    old.prepare('INSERT INTO promise (service, key, name, result, waiters) VALUES (?, ?, ?, ?, ?)').run('Wf', 'w', 'p', null, big);
    old.close();

    const db = openSqlite(path);
    try {
      for (const table of BODY_TABLES) {
        expect(tableSql(db, table), table).not.toMatch(/WITHOUT\s+ROWID/i);
        expect(db.prepare(`SELECT count(*) AS n FROM ${table}`).get(), table).toEqual({ n: 1 });
      }
      expect(db.prepare('SELECT payload FROM log WHERE partition = 3 AND lsn = 41').get()).toEqual({ payload: big });
      expect(db.prepare('SELECT signal_name, body FROM journal WHERE invocation_id = ?').get('inv_1')).toEqual({ signal_name: 'sig', body: big });
      // The primary keys still refuse duplicates, and the timer index by time is back.
      expect(() => db.prepare("INSERT INTO log (partition, lsn, payload) VALUES (3, 41, x'00')").run()).toThrow(/UNIQUE/);
      expect(() => db.prepare("INSERT INTO journal (invocation_id, idx, type, body) VALUES ('inv_1', 0, 1, x'00')").run()).toThrow(/UNIQUE/);
      expect(db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'timer_by_time'").get()).toEqual({ name: 'timer_by_time' });
    } finally {
      db.close();
    }
  });
});
