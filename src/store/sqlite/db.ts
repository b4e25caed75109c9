import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

/** A better-sqlite3 connection. */
export type SqliteDb = Database.Database;

const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

/**
 * Opens (creating if needed) the SQLite database at `path` and brings its schema up to date.
 * WAL with synchronous=FULL: a commit returns only once it is on disk, which is what lets the
 * log promise durability; group commit amortises the fsync.
 */
export function openSqlite(path: string): SqliteDb {
  if (path !== ':memory:') makeDurableDirectory(dirname(path));
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = OFF');
  db.pragma('busy_timeout = 5000');
  db.pragma('cache_size = -16384');
  migrate(db);
  return db;
}

/**
 * Creates `dir` (and missing parents) and makes each new entry durable in its parent: neither
 * SQLite nor the WAL flush syncs the directories above the database, so without this a power
 * loss soon after the first start could drop a fresh data directory with everything in it.
 */
function makeDurableDirectory(dir: string): void {
  const created = mkdirSync(dir, { recursive: true });
  if (created === undefined) return;
  const first = resolve(created);
  for (let d = resolve(dir); ; d = dirname(d)) {
    syncDirectorySync(dirname(d));
    if (d === first || dirname(d) === d) break;
  }
}

function syncDirectorySync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function migrate(db: SqliteDb): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migration (version INTEGER PRIMARY KEY, name TEXT NOT NULL)');
  const applied = new Set(
    (db.prepare('SELECT version FROM schema_migration').all() as { version: number }[]).map((r) => r.version),
  );
  const files = readdirSync(MIGRATIONS_DIR).filter((f) => /^\d{4}_.*\.sql$/.test(f)).sort();
  for (const file of files) {
    const version = Number(file.slice(0, 4));
    if (applied.has(version)) continue;
    const sql = readFileSync(join(MIGRATIONS_DIR, file), 'utf8');
    db.transaction(() => {
      db.exec(sql);
      db.prepare('INSERT INTO schema_migration (version, name) VALUES (?, ?)').run(version, file);
    })();
  }
}
