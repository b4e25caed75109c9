import { QueryError, QueryErrorKind, type QueryEngine, type QueryResult } from '../query.ts';

/** What `POST /query` answers on a PostgreSQL store. */
export const SQL_INTROSPECTION_UNSUPPORTED =
  'SQL introspection runs on SQLite only for now; this node stores its data in PostgreSQL. Use the admin API (invocations, state, services) instead.';

/**
 * The introspection engine of a PostgreSQL store: refuses every query (501 Not Implemented).
 * Restate's introspection tables are views written in SQLite's dialect over SQLite's tables;
 * until they exist for PostgreSQL, saying so beats answering from a different schema.
 */
export class UnsupportedQueryEngine implements QueryEngine {
  async query(_sql: string): Promise<QueryResult> {
    throw new QueryError(QueryErrorKind.Unsupported, SQL_INTROSPECTION_UNSUPPORTED);
  }

  async close(): Promise<void> {}
}
