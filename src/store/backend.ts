/**
 * A storage backend as the node sees it: the partition store (with its log), the metadata
 * store, and what differs between backends, declared once in `capabilities` instead of being
 * tested for at each use.
 */
import type { MetadataStore } from './metadata.ts';
import type { PartitionStore } from './partition.ts';
import type { QueryAttempt, QueryEngine } from './query.ts';
import type { SubscriptionStore } from './subscriptions.ts';

/** The SQL dialects Endure stores data in. */
export const DIALECTS = ['sqlite', 'postgres'] as const;
/** A SQL dialect. */
export type Dialect = (typeof DIALECTS)[number];

/** What differs between backends. */
export interface StoreCapabilities {
  /** The SQL dialect of the tables (introspection queries are written in it). */
  readonly dialect: Dialect;
  /** Where the data lives, for logs: a file path, or a database URL without its password. */
  readonly location: string;
  /** True when several Endure nodes may open the same store (PostgreSQL); false for a local file. */
  readonly sharedByNodes: boolean;
  /** True when `POST /query` runs SQL over this store; false when its engine refuses (501). */
  readonly sqlIntrospection: boolean;
}

/** An open store. */
export interface StoreBackend {
  readonly capabilities: StoreCapabilities;
  readonly partitions: PartitionStore;
  readonly metadata: MetadataStore;
  readonly subscriptions: SubscriptionStore;
  /**
   * The engine of `POST /query` over this store; `attempts` is what the invoker knows of the
   * invocations it runs. Closed by its caller, before the backend.
   */
  openQueryEngine(attempts: () => readonly QueryAttempt[]): QueryEngine;
  /**
   * The partition count, fixed when the store was created: the first call records `requested`;
   * later calls (later starts) return the recorded count whatever they ask for.
   */
  fixPartitionCount(requested: number): Promise<number>;
  /** Waits for the transactions in flight and releases the database. */
  close(): Promise<void>;
}

/** Which store to open: the SQLite file of a data directory, or a PostgreSQL schema. */
export type StoreLocation =
  | { readonly kind: 'sqlite'; readonly path: string }
  | { readonly kind: 'postgres'; readonly url: string; readonly schema: string; readonly idleInTransactionMs?: number };

/** How to open a store. */
export interface OpenStoreOptions {
  /**
   * Check an existing SQLite database's pages before starting (PRAGMA quick_check); default
   * true. PostgreSQL checks its own pages: the option does not apply to it.
   */
  readonly integrityCheck?: boolean;
}
