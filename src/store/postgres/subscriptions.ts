import type { SubscriptionRecord, SubscriptionStore } from '../subscriptions.ts';
import type { PgPool } from './db.ts';
import { refusal } from './refusal.ts';

interface SubscriptionRow {
  id: string;
  source: string;
  sink: string;
  options: string;
  created_at: number;
}

/**
 * SubscriptionStore over the `subscription` table of Endure's PostgreSQL schema. Each change is
 * one statement on the pool (autocommit): durable when it returns, apart from any partition
 * transaction in flight.
 */
export class PostgresSubscriptionStore implements SubscriptionStore {
  constructor(private readonly pool: PgPool) {}

  async listSubscriptions(): Promise<SubscriptionRecord[]> {
    const rows = await this.#run((sql) =>
      sql<SubscriptionRow[]>`SELECT id, source, sink, options, created_at FROM subscription ORDER BY created_at, id COLLATE "C"`,
    );
    return rows.map((r) => ({
      id: r.id,
      source: r.source,
      sink: r.sink,
      options: JSON.parse(r.options) as Record<string, string>,
      createdAt: r.created_at,
    }));
  }

  async putSubscription(r: SubscriptionRecord): Promise<void> {
    const options = JSON.stringify(r.options);
    await this.#run(
      (sql) => sql`INSERT INTO subscription (id, source, sink, options, created_at) VALUES (${r.id}, ${r.source}, ${r.sink}, ${options}, ${r.createdAt})`,
    );
  }

  async removeSubscription(id: string): Promise<boolean> {
    const result = await this.#run((sql) => sql`DELETE FROM subscription WHERE id = ${id}`);
    return result.count > 0;
  }

  /** Runs one statement on the live pool; a database out of reach is a StoreUnavailableError. */
  async #run<T>(fn: (sql: PgPool['sql']) => Promise<T>): Promise<T> {
    const pool = this.pool;
    try {
      return await pool.guard(pool.generation, fn(pool.sql));
    } catch (err) {
      throw refusal(err) ?? err;
    }
  }
}
