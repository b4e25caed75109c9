// Restate's introspection SQL is written in DataFusion's dialect; Endure runs it on SQLite or
// PostgreSQL. Most of it is common SQL. This module rewrites the few constructs the target
// reads differently, working on tokens so that string literals and quoted names are never
// touched:
// - `index` as a column name (a keyword in SQLite) is quoted;
// - `first_value(x [ORDER BY …])` used as an aggregate (no OVER) becomes Endure's aggregate on
//   SQLite and `(array_agg(x [ORDER BY …]))[1]` on PostgreSQL, which has no such aggregate;
// - a subquery in FROM without an alias whose columns the outer query names through the inner
//   table's alias (`FROM (SELECT * FROM sys_invocation inv …) WHERE inv.status …`) gets that alias
//   (on PostgreSQL, which requires one, any subquery in FROM without an alias gets one);
// - `information_schema.columns` / `.tables` name Endure's views of the catalog;
// - on PostgreSQL, `==` becomes `=` and `arrow_cast(x, 'Int64')` a CAST to the nearest type.
// It also refuses what is not a read (only SELECT and WITH statements pass), recursive common
// table expressions, and what would read or act outside the views: names qualified by the
// store's schemas, SQLite's catalog and table-valued functions (`sqlite_schema`, `pragma_*`,
// `json_each`), PostgreSQL's server functions (`pg_*`: files, sleeps, other sessions) and
// settings.

import { QueryError } from './query.ts';

type TokenKind = 'space' | 'comment' | 'string' | 'quoted' | 'number' | 'word' | 'punct';

interface Token {
  kind: TokenKind;
  text: string;
}

const PUNCT2 = new Set(['==', '!=', '<>', '<=', '>=', '||', '::', '->']);

/** Splits SQL into tokens; concatenating the texts gives the input back. */
export function tokenize(sql: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    const start = i;
    if (/\s/.test(c)) {
      while (i < sql.length && /\s/.test(sql[i] as string)) i++;
      out.push({ kind: 'space', text: sql.slice(start, i) });
    } else if (c === '-' && sql[i + 1] === '-') {
      while (i < sql.length && sql[i] !== '\n') i++;
      out.push({ kind: 'comment', text: sql.slice(start, i) });
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
      out.push({ kind: 'comment', text: sql.slice(start, i) });
    } else if (c === "'" || c === '"' || c === '`') {
      i++;
      while (i < sql.length) {
        if (sql[i] === c) {
          if (sql[i + 1] === c) i += 2;
          else {
            i++;
            break;
          }
        } else i++;
      }
      out.push({ kind: c === "'" ? 'string' : 'quoted', text: sql.slice(start, i) });
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      while (i < sql.length && /[0-9.eE]/.test(sql[i] as string)) i++;
      out.push({ kind: 'number', text: sql.slice(start, i) });
    } else if (/[A-Za-z_]/.test(c)) {
      while (i < sql.length && /[A-Za-z0-9_$]/.test(sql[i] as string)) i++;
      out.push({ kind: 'word', text: sql.slice(start, i) });
    } else {
      const two = sql.slice(i, i + 2);
      i += PUNCT2.has(two) ? 2 : 1;
      out.push({ kind: 'punct', text: sql.slice(start, i) });
    }
  }
  return out;
}

const isWord = (t: Token | undefined, word: string): boolean =>
  t !== undefined && t.kind === 'word' && t.text.toLowerCase() === word;

/** Words after which a subquery in FROM has no alias. */
const CLAUSE_WORDS = new Set([
  'where', 'group', 'order', 'limit', 'having', 'join', 'left', 'right', 'inner', 'outer', 'full', 'cross',
  'natural', 'on', 'using', 'union', 'intersect', 'except', 'window', 'offset',
]);

/** What a target engine reads differently. */
interface Target {
  readonly name: 'sqlite' | 'postgres';
  /** Why a name (lower case) may not appear at all; undefined when it may. */
  refused(word: string, next: Token | undefined): string | undefined;
}

const SQLITE_TARGET: Target = {
  name: 'sqlite',
  refused(word, next) {
    if ((word === 'main' || word === 'temp' || word === 'temporary') && next?.text === '.') {
      return `schema-qualified names such as '${word}.…' are not supported; name the table alone`;
    }
    if (word.startsWith('sqlite_') || word.startsWith('pragma_') || word === 'json_each' || word === 'json_tree') {
      return `'${word}' is not available in introspection queries`;
    }
    return undefined;
  },
};

/** PostgreSQL functions that read or act outside the query's own rows. */
const PG_REFUSED_FUNCTIONS = new Set(['set_config', 'current_setting', 'nextval', 'setval', 'currval', 'lastval', 'txid_current', 'dblink']);

function postgresTarget(schemas: readonly string[]): Target {
  const qualifiers = new Set(['pg_catalog', 'pg_temp', 'pg_toast', 'public', ...schemas]);
  return {
    name: 'postgres',
    refused(word, next) {
      if (next?.text === '.' && (qualifiers.has(word) || word.startsWith('pg_temp_'))) {
        return `schema-qualified names such as '${word}.…' are not supported; name the table alone`;
      }
      if (word.startsWith('pg_') || word.startsWith('lo_') || word.includes('_to_xml') || PG_REFUSED_FUNCTIONS.has(word)) {
        return `'${word}' is not available in introspection queries`;
      }
      return undefined;
    },
  };
}

/** DataFusion's (Arrow) type names and the PostgreSQL type `arrow_cast` converts to. */
const PG_ARROW_TYPES: [RegExp, string][] = [
  [/^u?int(8|16|32|64)$/, 'bigint'],
  [/^float(16|32|64)$/, 'double precision'],
  [/^(large)?utf8(view)?$/, 'text'],
  [/^boolean$/, 'boolean'],
  [/^(large)?binary$/, 'bytea'],
  [/^timestamp\b/, 'timestamptz'],
];

/** Rewrites a DataFusion-dialect read query for SQLite; QueryError('invalid') for anything else. */
export function toSqlite(sql: string): string {
  return translate(sql, SQLITE_TARGET);
}

/**
 * Rewrites a DataFusion-dialect read query for PostgreSQL; QueryError('invalid') for anything
 * else. `schemas` are the store's schemas, which a query may not name.
 */
export function toPostgres(sql: string, schemas: readonly string[]): string {
  return translate(sql, postgresTarget(schemas));
}

function translate(sql: string, target: Target): string {
  const pg = target.name === 'postgres';
  const tokens = tokenize(sql);
  const sig = tokens.map((t, i) => ({ t, i })).filter(({ t }) => t.kind !== 'space' && t.kind !== 'comment');
  const first = sig[0]?.t;
  if (first === undefined) throw new QueryError('invalid', 'empty query');
  if (!isWord(first, 'select') && !isWord(first, 'with')) {
    throw new QueryError('invalid', `only SELECT and WITH queries are allowed, not ${first.text.toUpperCase()}`);
  }
  if (pg) {
    // Dollar quoting and E'…' escapes would make PostgreSQL see string boundaries other than
    // the ones this rewrite sees; parameters have no values here.
    sig.forEach(({ t }, k) => {
      if (t.text === '$') throw new QueryError('invalid', "'$' (parameters, dollar quoting) is not supported in introspection queries");
      const next = tokens[sig[k]!.i + 1];
      if (t.kind === 'word' && /^[eE]$/.test(t.text) && next?.kind === 'string' && next.text.includes('\\')) {
        throw new QueryError('invalid', "E'…' strings with escapes are not supported in introspection queries");
      }
    });
  }

  // Positions (in `sig`) of matching parentheses.
  const close = new Map<number, number>();
  const stack: number[] = [];
  sig.forEach(({ t }, k) => {
    if (t.text === '(') stack.push(k);
    else if (t.text === ')') {
      const open = stack.pop();
      if (open !== undefined) close.set(open, k);
    }
  });

  rejectRecursion(sig.map((s) => s.t), close);
  sig.forEach(({ t }, k) => {
    if (t.kind !== 'word') return;
    const why = target.refused(t.text.toLowerCase(), sig[k + 1]?.t);
    if (why !== undefined) throw new QueryError('invalid', why);
  });

  const replace = new Map<number, string>();
  const append = new Map<number, string>();
  for (let k = 0; k < sig.length; k++) {
    const { t, i } = sig[k] as { t: Token; i: number };
    if (pg && t.text === '==') {
      replace.set(i, '=');
      continue;
    }
    if (t.kind !== 'word') continue;
    const lower = t.text.toLowerCase();
    const next = sig[k + 1]?.t;
    if (lower === 'index') {
      replace.set(i, '"index"');
    } else if (lower === 'first_value' && next?.text === '(') {
      const end = close.get(k + 1);
      if (end === undefined || isWord(sig[end + 1]?.t, 'over')) continue;
      if (pg) {
        replace.set(i, '(array_agg');
        append.set((sig[end] as { i: number }).i, ')[1]');
      } else {
        replace.set(i, 'restate_first_value');
      }
    } else if (pg && lower === 'arrow_cast' && next?.text === '(') {
      const end = close.get(k + 1);
      const type = sig[end === undefined ? -1 : end - 1];
      const comma = sig[end === undefined ? -1 : end - 2];
      if (end === undefined || type?.t.kind !== 'string' || comma?.t.text !== ',') continue;
      const arrow = type.t.text.slice(1, -1).toLowerCase();
      const pgType = PG_ARROW_TYPES.find(([re]) => re.test(arrow))?.[1];
      if (pgType === undefined) throw new QueryError('invalid', `arrow_cast to '${arrow}' is not supported`);
      replace.set(i, 'CAST');
      replace.set(comma.i, ' AS');
      replace.set(type.i, pgType);
    } else if (lower === 'information_schema' && next?.text === '.' && sig[k + 2]?.t.kind === 'word') {
      const table = (sig[k + 2] as { t: Token }).t.text.toLowerCase();
      replace.set(i, `information_schema_${table}`);
      replace.set((sig[k + 1] as { i: number }).i, '');
      replace.set((sig[k + 2] as { i: number }).i, '');
    } else if ((lower === 'from' || lower === 'join') && next?.text === '(' && isWord(sig[k + 2]?.t, 'select')) {
      const end = close.get(k + 1);
      if (end === undefined) continue;
      const after = sig[end + 1]?.t;
      const hasAlias = after !== undefined && (after.kind === 'quoted' || (after.kind === 'word' && !CLAUSE_WORDS.has(after.text.toLowerCase())));
      if (hasAlias) continue;
      const alias = innerAlias(sig.slice(k + 2, end).map((s) => s.t)) ?? (pg ? `subquery_${k}` : undefined);
      if (alias !== undefined) append.set((sig[end] as { i: number }).i, ` AS ${alias}`);
    }
  }
  return tokens.map((t, i) => (replace.get(i) ?? t.text) + (append.get(i) ?? '')).join('');
}

/** The alias of the one table a subquery reads at its top level (`… FROM table alias …`). */
function innerAlias(tokens: Token[]): string | undefined {
  let depth = 0;
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k] as Token;
    if (t.text === '(') depth++;
    else if (t.text === ')') depth--;
    else if (depth === 0 && isWord(t, 'from')) {
      let j = k + 2;
      if (isWord(tokens[j], 'as')) j++;
      const alias = tokens[j];
      if (alias === undefined || alias.kind !== 'word' || CLAUSE_WORDS.has(alias.text.toLowerCase())) return undefined;
      return alias.text;
    }
  }
  return undefined;
}

/** Refuses common table expressions that name themselves (SQLite runs those recursively). */
function rejectRecursion(sig: Token[], close: Map<number, number>): void {
  for (let k = 0; k < sig.length; k++) {
    if (!isWord(sig[k], 'with')) continue;
    let j = k + 1;
    if (isWord(sig[j], 'recursive')) throw new QueryError('invalid', 'recursive queries are not supported');
    for (;;) {
      const name = sig[j];
      if (name === undefined || (name.kind !== 'word' && name.kind !== 'quoted')) break;
      const bare = name.text.replace(/^["`]|["`]$/g, '').toLowerCase();
      j++;
      if (sig[j]?.text === '(') j = (close.get(j) ?? sig.length) + 1;
      if (!isWord(sig[j], 'as')) break;
      j++;
      if (isWord(sig[j], 'not')) j++;
      if (isWord(sig[j], 'materialized')) j++;
      if (sig[j]?.text !== '(') break;
      const end = close.get(j) ?? sig.length;
      for (let b = j + 1; b < end; b++) {
        const t = sig[b] as Token;
        if ((t.kind === 'word' || t.kind === 'quoted') && t.text.replace(/^["`]|["`]$/g, '').toLowerCase() === bare) {
          throw new QueryError('invalid', `recursive queries are not supported ('${name.text}' refers to itself)`);
        }
      }
      j = end + 1;
      if (sig[j]?.text !== ',') break;
      j++;
    }
  }
}
