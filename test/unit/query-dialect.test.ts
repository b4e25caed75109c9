// The DataFusion → SQLite rewrite of introspection queries, token by token.
import { describe, expect, it } from 'vitest';
import { QueryError } from '../../src/store/index.ts';
import { toSqlite } from '../../src/store/sqlite/query/dialect.ts';

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
