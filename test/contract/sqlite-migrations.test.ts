// The numbered SQLite migrations apply in order whatever a database already has: a fresh one gets
// them all, one left at an earlier version gets the rest, and one that skipped a number (created
// before that migration existed on its branch) gets the missing one without a second copy of
// the others.
import Database from 'better-sqlite3';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqlite } from '../../src/store/index.ts';

const MIGRATIONS = join(import.meta.dirname, '..', '..', 'src', 'store', 'sqlite', 'migrations');
const FILES = readdirSync(MIGRATIONS).filter((f) => /^\d{4}_.*\.sql$/.test(f)).sort();
const VERSIONS = FILES.map((f) => Number(f.slice(0, 4)));

describe('SQLite migrations', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  function tempPath(): string {
    const dir = mkdtempSync(join(tmpdir(), 'endure-migrations-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return join(dir, 'endure.db');
  }

  /** A database as an older Endure left it: only the migrations `versions` applied. */
  function databaseAt(path: string, versions: number[]): void {
    const db = new Database(path);
    db.exec('CREATE TABLE schema_migration (version INTEGER PRIMARY KEY, name TEXT NOT NULL)');
    for (const file of FILES.filter((f) => versions.includes(Number(f.slice(0, 4))))) {
      db.exec(readFileSync(join(MIGRATIONS, file), 'utf8'));
      db.prepare('INSERT INTO schema_migration (version, name) VALUES (?, ?)').run(Number(file.slice(0, 4)), file);
    }
    db.close();
  }

  function applied(path: string): { versions: number[]; tables: string[] } {
    const db = openSqlite(path);
    try {
      return {
        versions: (db.prepare('SELECT version FROM schema_migration ORDER BY version').all() as { version: number }[]).map((r) => r.version),
        tables: (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name),
      };
    } finally {
      db.close();
    }
  }

  it('the migrations are numbered from 1 without a gap or a duplicate', () => {
    expect(VERSIONS.length).toBeGreaterThanOrEqual(7);
    expect(VERSIONS).toEqual(VERSIONS.map((_, i) => i + 1));
  });

  it('a fresh database gets every migration, in order', () => {
    const { versions, tables } = applied(tempPath());
    expect(versions).toEqual(VERSIONS);
    expect(tables).toEqual(expect.arrayContaining(['partitions', 'subscription', 'schedule', 'promise', 'flow_rule', 'log']));
  });

  it('a database migrated to 0002 only gets the later ones, in order', () => {
    const path = tempPath();
    databaseAt(path, [1, 2]);
    const { versions, tables } = applied(path);
    expect(versions).toEqual(VERSIONS);
    expect(tables).toEqual(expect.arrayContaining(['partitions', 'subscription', 'schedule', 'flow_rule']));
  });

  it('a database that has every migration but 0003 gets 0003 and nothing twice', () => {
    const path = tempPath();
    databaseAt(path, VERSIONS.filter((v) => v !== 3));
    const { versions, tables } = applied(path);
    expect(versions).toEqual(VERSIONS);
    expect(tables).toContain('partitions');
    // Opening again applies nothing.
    expect(applied(path).versions).toHaveLength(VERSIONS.length);
  });
});
