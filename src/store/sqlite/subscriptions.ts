import type { SqliteDb } from './db.ts';
import type { SubscriptionRecord, SubscriptionStore } from '../subscriptions.ts';

interface SubscriptionRow {
  id: string;
  source: string;
  sink: string;
  options: string;
  created_at: number;
}

/** SubscriptionStore over the `subscription` table of an Endure SQLite database. */
export class SqliteSubscriptionStore implements SubscriptionStore {
  private readonly selectAll;
  private readonly insert;
  private readonly remove;

  /** @param serialize as for SqliteMetadataStore: pass the partition store's `exclusive` when sharing the connection. */
  constructor(
    db: SqliteDb,
    private readonly serialize: <T>(fn: () => T) => Promise<T> = async (fn) => fn(),
  ) {
    this.selectAll = db.prepare<[], SubscriptionRow>(
      'SELECT id, source, sink, options, created_at FROM subscription ORDER BY created_at, id',
    );
    this.insert = db.prepare<[string, string, string, string, number]>(
      'INSERT INTO subscription (id, source, sink, options, created_at) VALUES (?, ?, ?, ?, ?)',
    );
    this.remove = db.prepare<[string]>('DELETE FROM subscription WHERE id = ?');
  }

  listSubscriptions(): Promise<SubscriptionRecord[]> {
    return this.serialize(() =>
      this.selectAll.all().map((r) => ({
        id: r.id,
        source: r.source,
        sink: r.sink,
        options: JSON.parse(r.options) as Record<string, string>,
        createdAt: r.created_at,
      })),
    );
  }

  putSubscription(r: SubscriptionRecord): Promise<void> {
    return this.serialize(() => {
      this.insert.run(r.id, r.source, r.sink, JSON.stringify(r.options), r.createdAt);
    });
  }

  removeSubscription(id: string): Promise<boolean> {
    return this.serialize(() => this.remove.run(id).changes > 0);
  }
}
