// The DataFusion → SQLite and DataFusion → PostgreSQL rewrites of introspection queries, token by token.
import { describe, expect, it } from 'vitest';
import { QueryError } from '../../src/store/index.ts';
import { toPostgres, toSqlite } from '../../src/store/query-dialect.ts';

describe('DataFusion dialect on SQLite', () => {
  it('quotes index used as a column name, but not inside strings or quoted names', () => {
    expect(toSqlite("SELECT sj.index FROM sys_journal sj WHERE name = 'index' ORDER BY index DESC")).toBe(
      `SELECT sj."index" FROM sys_journal sj WHERE name = 'index' ORDER BY "index" DESC`,
    );
    expect(toSqlite('SELECT "index" FROM t')).toBe('SELECT "index" FROM t');
  });

  it('turns aggregate first_value into Endure aggregate and leaves the window function alone', () => {
    expect(toSqlite('SELECT FIRST_VALUE(id ORDER BY created_at ASC) FROM t GROUP BY a')).toBe(
      'SELECT restate_first_value(id ORDER BY created_at ASC) FROM t GROUP BY a',
    );
    expect(toSqlite('SELECT first_value(id) OVER (ORDER BY a) FROM t')).toBe('SELECT first_value(id) OVER (ORDER BY a) FROM t');
  });

  it('gives an unaliased subquery in FROM the alias of the table it reads', () => {
    expect(toSqlite('SELECT COUNT(1) FROM (SELECT * FROM sys_invocation inv LIMIT 50000 ) WHERE inv.status != 1')).toBe(
      'SELECT COUNT(1) FROM (SELECT * FROM sys_invocation inv LIMIT 50000 ) AS inv WHERE inv.status != 1',
    );
    expect(toSqlite('SELECT * FROM (SELECT * FROM t x) y')).toBe('SELECT * FROM (SELECT * FROM t x) y');
    expect(toSqlite('SELECT * FROM (SELECT * FROM t)')).toBe('SELECT * FROM (SELECT * FROM t)');
  });

  it('names the information_schema views', () => {
    expect(toSqlite("SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'x'")).toBe(
      "SELECT COUNT(*) FROM information_schema_columns WHERE table_name = 'x'",
    );
  });

  it('refuses statements that are not reads, recursion and schema-qualified names', () => {
    for (const sql of [
      'DELETE FROM state',
      'PRAGMA writable_schema = 1',
      '',
      'WITH RECURSIVE c(x) AS (SELECT 1) SELECT * FROM c',
      'WITH a AS (SELECT 1), "b" AS (SELECT * FROM b) SELECT * FROM b',
      'SELECT * FROM main.invocation',
      'SELECT * FROM temp.state',
      'SELECT count(*) FROM sqlite_schema a, sqlite_temp_master b',
      "SELECT * FROM pragma_table_info('state')",
      "SELECT * FROM json_each('[1,2]') a, json_each('[1,2]') b",
    ]) {
      expect(() => toSqlite(sql), sql).toThrow(QueryError);
    }
    expect(toSqlite('WITH a AS (SELECT 1), b AS (SELECT * FROM a) SELECT * FROM b')).toBe(
      'WITH a AS (SELECT 1), b AS (SELECT * FROM a) SELECT * FROM b',
    );
  });
});

describe('DataFusion dialect on PostgreSQL', () => {
  const pg = (sql: string) => toPostgres(sql, ['endure']);

  it('reads == as =, and first_value as an aggregate through array_agg', () => {
    expect(pg("SELECT FIRST_VALUE(id ORDER BY created_at ASC) AS o FROM t WHERE status == 'inboxed' GROUP BY a")).toBe(
      "SELECT (array_agg(id ORDER BY created_at ASC))[1] AS o FROM t WHERE status = 'inboxed' GROUP BY a",
    );
    expect(pg('SELECT first_value(id) FROM t')).toBe('SELECT (array_agg(id))[1] FROM t');
    expect(pg('SELECT first_value(id) OVER (ORDER BY a) FROM t')).toBe('SELECT first_value(id) OVER (ORDER BY a) FROM t');
    expect(pg("SELECT 'a == b'")).toBe("SELECT 'a == b'");
  });

  it('turns arrow_cast into a CAST to the nearest PostgreSQL type', () => {
    expect(pg("SELECT arrow_cast(count(*), 'Int64') AS n, arrow_cast(1, 'UInt32'), arrow_cast(x, 'Utf8') FROM t")).toBe(
      'SELECT CAST(count(*) AS bigint) AS n, CAST(1 AS bigint), CAST(x AS text) FROM t',
    );
    expect(() => pg("SELECT arrow_cast(1, 'Dictionary(Int32, Utf8)')")).toThrow(QueryError);
  });

  it('gives every subquery in FROM an alias, the inner table alias where there is one', () => {
    expect(pg('SELECT COUNT(1) FROM (SELECT * FROM sys_invocation inv LIMIT 50000 ) WHERE inv.status != 1')).toBe(
      'SELECT COUNT(1) FROM (SELECT * FROM sys_invocation inv LIMIT 50000 ) AS inv WHERE inv.status != 1',
    );
    expect(pg('SELECT * FROM (SELECT * FROM t)')).toMatch(/^SELECT \* FROM \(SELECT \* FROM t\) AS \w+$/);
  });

  it("refuses the store's schemas, server functions, settings, dollar quoting and escapes", () => {
    for (const sql of [
      'SELECT * FROM endure.invocation',
      'SELECT * FROM public.t',
      'SELECT * FROM pg_catalog.pg_class',
      'SELECT * FROM pg_stat_activity',
      "SELECT pg_read_file('/etc/hostname')",
      'SELECT pg_sleep(10)',
      'SELECT pg_terminate_backend(1)',
      "SELECT set_config('statement_timeout', '0', false)",
      "SELECT current_setting('endure.attempts')",
      "SELECT query_to_xml('select 1', true, true, '')",
      'SELECT $$x$$',
      "SELECT E'\\'', pg_sleep(10) --'",
      'UPDATE state SET value = 1',
    ]) {
      expect(() => pg(sql), sql).toThrow(QueryError);
    }
    expect(pg("SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'x'")).toBe(
      "SELECT COUNT(*) FROM information_schema_columns WHERE table_name = 'x'",
    );
  });
});
