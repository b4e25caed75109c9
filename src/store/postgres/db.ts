import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';

/** A pool of connections to Endure's schema, as the `postgres` client exposes it. */
export type PgSql = postgres.Sql<Record<string, never>>;

/** Where Endure's PostgreSQL store lives. */
export interface PgLocation {
  /** A `postgres://` or `postgresql://` connection URL. */
  readonly url: string;
  /** The schema that holds Endure's tables (created if missing). */
  readonly schema: string;
}

const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

/** Schema names Endure accepts: a plain lower-case SQL identifier, so no quoting surprises. */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Opens a connection pool on Endure's schema and brings the schema up to date. Every
 * connection runs with `search_path` set to the schema, so statements name tables unqualified
 * and Endure can share a database with the user's tables. 64-bit integers read as numbers:
 * LSNs, sequences and times stay far below 2^53.
 */
export async function openPostgres(location: PgLocation): Promise<PgSql> {
  if (!SCHEMA_NAME.test(location.schema)) throw new Error(`invalid schema name ${JSON.stringify(location.schema)}`);
  const sql = postgres(location.url, {
    connection: { search_path: location.schema, application_name: 'endure' },
    types: {
      int8: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) },
    },
    onnotice: () => undefined,
    connect_timeout: 10,
  }) as unknown as PgSql;
  try {
    await migrate(sql, location.schema);
  } catch (err) {
    await sql.end({ timeout: 1 });
    throw err;
  }
  return sql;
}

/**
 * Applies the numbered migrations not yet recorded, each in its own transaction. An advisory
 * lock keyed by the schema lets several nodes start at once: one migrates, the others wait
 * and then find nothing left to do.
 */
async function migrate(sql: PgSql, schema: string): Promise<void> {
  const files = readdirSync(MIGRATIONS_DIR).filter((f) => /^\d{4}_.*\.sql$/.test(f)).sort();
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtext(${`endure migrate ${schema}`}))`;
    await tx.unsafe(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await tx`CREATE TABLE IF NOT EXISTS schema_migration (version integer PRIMARY KEY, name text NOT NULL)`;
    const applied = new Set((await tx<{ version: number }[]>`SELECT version FROM schema_migration`).map((r) => r.version));
    for (const file of files) {
      const version = Number(file.slice(0, 4));
      if (applied.has(version)) continue;
      await tx.unsafe(readFileSync(join(MIGRATIONS_DIR, file), 'utf8')).simple();
      await tx`INSERT INTO schema_migration (version, name) VALUES (${version}, ${file})`;
    }
  });
}
