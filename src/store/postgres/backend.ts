import type { StoreBackend } from '../backend.ts';
import { openPostgres, type PgLocation } from './db.ts';
import { PostgresMetadataStore } from './metadata.ts';
import { PostgresPartitionStore } from './partition-store.ts';
import { PostgresQueryEngine } from './query/engine.ts';
import { PostgresSubscriptionStore } from './subscriptions.ts';

/**
 * Opens the PostgreSQL backend: the log, the partition store and the metadata store as tables
 * of one schema, reached through one connection pool, with the subscriptions. SQL
 * introspection (`POST /query`) runs on a connection of its own (query/engine.ts).
 */
export async function openPostgresBackend(location: PgLocation): Promise<StoreBackend> {
  const where = `${redactPassword(location.url)} schema ${location.schema}`;
  let pool: Awaited<ReturnType<typeof openPostgres>>;
  try {
    pool = await openPostgres(location);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`cannot open the PostgreSQL store at ${where}: ${reason}`, { cause: err });
  }
  const partitions = new PostgresPartitionStore(pool);
  return {
    capabilities: { dialect: 'postgres', location: where, sharedByNodes: true, sqlIntrospection: true },
    partitions,
    metadata: new PostgresMetadataStore(pool),
    subscriptions: new PostgresSubscriptionStore(pool),
    openQueryEngine: (attempts) => new PostgresQueryEngine(location, undefined, attempts),
    async fixPartitionCount(requested) {
      const sql = pool.sql;
      await sql`INSERT INTO meta (name, value) VALUES ('partitions', ${String(requested)}) ON CONFLICT (name) DO NOTHING`;
      const [row] = await sql<{ value: string }[]>`SELECT value FROM meta WHERE name = 'partitions'`;
      return Number(row!.value);
    },
    async close() {
      await partitions.close();
      await pool.end(5);
    },
  };
}

/** The URL with its password replaced, so it can be logged. */
export function redactPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable url)';
  }
}
