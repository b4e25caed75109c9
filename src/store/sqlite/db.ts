import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

/** A better-sqlite3 connection. */
export type SqliteDb = Database.Database;

const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

/** How `openSqlite` treats an existing database file. */
export interface OpenSqliteOptions {
  /**
   * Run `PRAGMA quick_check` on an existing database before using it (default true). Its cost
   * grows with the file (it reads every page); skipping it trades that for the risk of serving
   * from a damaged file.
   */
  readonly integrityCheck?: boolean;
}

/**
 * The database file exists but cannot be trusted: it is empty, not a database, or fails the
 * integrity check. Starting anyway would serve an empty or damaged store as if it were the
 * real one, so start-up stops and says what to do.
 */
export class UnusableDatabaseError extends Error {
  readonly code = 'ENDURE_DATABASE_UNUSABLE';

  constructor(path: string, problem: string, options?: { cause?: unknown; skippable?: boolean }) {
    const skip = options?.skippable
      ? ' To start on it anyway, pass --skip-integrity-check (ENDURE_SKIP_INTEGRITY_CHECK=true).'
      : '';
    super(
      `the database ${path} ${problem}. Restore the data directory from a backup, or remove the data ` +
        `directory to start a fresh, empty server (every deployment, invocation and state is then lost).${skip}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'UnusableDatabaseError';
  }
}

/**
 * Opens (creating if needed) the SQLite database at `path` and brings its schema up to date.
 * WAL with synchronous=FULL: a commit returns only once it is on disk, which is what lets the
 * log promise durability; group commit amortises the fsync.
 *
 * An existing file must be a sound database: a 0-byte file (truncated, or a failed copy) would
 * otherwise open as a fresh empty store and silently drop every deployment and all state, and a
 * damaged one would fail later, in the middle of serving. Both throw UnusableDatabaseError.
 */
export function openSqlite(path: string, options: OpenSqliteOptions = {}): SqliteDb {
  if (path === ':memory:') {
    const memory = configure(new Database(path));
    migrate(memory);
    return memory;
  }
  makeDurableDirectory(dirname(path));
  const existing = fileSize(path);
  if (existing === 0) throw new UnusableDatabaseError(path, 'exists but is empty (0 bytes)');
  if (existing !== undefined && options.integrityCheck !== false) checkReadOnly(path);
  let db: SqliteDb | undefined;
  try {
    db = new Database(path);
    configure(db);
    migrate(db);
    return db;
  } catch (err) {
    db?.close();
    if (err instanceof UnusableDatabaseError) throw err;
    if (existing !== undefined && isCorruption(err)) {
      throw new UnusableDatabaseError(path, `is not a usable database (${(err as Error).message})`, { cause: err });
    }
    throw err;
  }
}

function configure(db: SqliteDb): SqliteDb {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = OFF');
  db.pragma('busy_timeout = 5000');
  db.pragma('cache_size = -16384');
  // A checkpoint that empties the WAL also cuts the file back to 64 MiB: without a limit the
  // WAL keeps the size of its largest burst for as long as the server runs.
  db.pragma('journal_size_limit = 67108864');
  return db;
}

/** The size of the file at `path`, or undefined when there is none. */
function fileSize(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** How many problems the check reports at most: the first few say enough. */
const QUICK_CHECK_MAX_ERRORS = 5;

/**
 * Runs the integrity check on a read-only connection, before anything opens the file for
 * writing: closing a writable connection checkpoints a WAL left by a crash into the database
 * and deletes it, so refusing a damaged database that way would still rewrite it. A refused
 * file and its WAL stay exactly as they were, for whoever tries to recover them.
 */
function checkReadOnly(path: string): void {
  let db: SqliteDb | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    // Reads the header and schema: a file that is not a database fails here, not in the check.
    db.pragma('schema_version');
    quickCheck(db, path);
  } catch (err) {
    if (err instanceof UnusableDatabaseError) throw err;
    if (isCorruption(err)) throw new UnusableDatabaseError(path, `is not a usable database (${(err as Error).message})`, { cause: err });
    throw err;
  } finally {
    db?.close();
  }
}

function quickCheck(db: SqliteDb, path: string): void {
  let problems: string[];
  try {
    const rows = db.pragma(`quick_check(${QUICK_CHECK_MAX_ERRORS})`) as { quick_check: string }[];
    problems = rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
  } catch (err) {
    if (!isCorruption(err)) throw err;
    problems = [(err as Error).message];
  }
  if (problems.length > 0) {
    throw new UnusableDatabaseError(path, `fails its integrity check (PRAGMA quick_check: ${problems.join('; ').replace(/\s*\n\s*/g, ' ')})`, {
      skippable: true,
    });
  }
}

/** SQLite's answer for a file that is not a database or is damaged. */
function isCorruption(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || (typeof code === 'string' && code.startsWith('SQLITE_CORRUPT_'));
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

/** First line of a migration that cannot run inside a transaction (VACUUM, some PRAGMAs). */
const OUTSIDE_TRANSACTION = '-- endure:outside-transaction';

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
    const record = () => db.prepare('INSERT INTO schema_migration (version, name) VALUES (?, ?)').run(version, file);
    if (sql.startsWith(OUTSIDE_TRANSACTION)) {
      // Such a migration (a VACUUM) must be idempotent: a crash before it is recorded runs it again.
      db.exec(sql);
      record();
      continue;
    }
    db.transaction(() => {
      db.exec(sql);
      record();
    })();
  }
}
