// Restate's introspection SQL is written in DataFusion's dialect; Endure runs it on SQLite.
// Most of it is common SQL (and SQLite already reads `==`). This module rewrites the few
// constructs SQLite reads differently, working on tokens so that string literals and quoted
// names are never touched:
// - `index` as a column name (a keyword in SQLite) is quoted;
// - `first_value(x [ORDER BY …])` used as an aggregate (no OVER) calls Endure's aggregate;
// - a subquery in FROM without an alias whose columns the outer query names through the inner
//   table's alias (`FROM (SELECT * FROM sys_invocation inv …) WHERE inv.status …`) gets that alias;
// - `information_schema.columns` / `.tables` name Endure's views of the catalog.
// It also refuses what is not a read (only SELECT and WITH statements pass), and what could
// run without end in native code, out of reach of the time limit: recursive common table
// expressions, names qualified by a schema (`main.journal`) and SQLite's catalog and table-valued
// functions (`sqlite_schema`, `pragma_*`, `json_each`), which would read rows outside the views.

import { QueryError } from '../../query.ts';

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

/** Rewrites a DataFusion-dialect read query for SQLite; QueryError('invalid') for anything else. */
export function toSqlite(sql: string): string {
  const tokens = tokenize(sql);
  const sig = tokens.map((t, i) => ({ t, i })).filter(({ t }) => t.kind !== 'space' && t.kind !== 'comment');
  const first = sig[0]?.t;
  if (first === undefined) throw new QueryError('invalid', 'empty query');
  if (!isWord(first, 'select') && !isWord(first, 'with')) {
    throw new QueryError('invalid', `only SELECT and WITH queries are allowed, not ${first.text.toUpperCase()}`);
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
    const lower = t.kind === 'word' ? t.text.toLowerCase() : '';
    if ((lower === 'main' || lower === 'temp' || lower === 'temporary') && sig[k + 1]?.t.text === '.') {
      throw new QueryError('invalid', `schema-qualified names such as '${t.text}.…' are not supported; name the table alone`);
    }
    if (lower.startsWith('sqlite_') || lower.startsWith('pragma_') || lower === 'json_each' || lower === 'json_tree') {
      throw new QueryError('invalid', `'${t.text}' is not available in introspection queries`);
    }
  });

  const replace = new Map<number, string>();
  const append = new Map<number, string>();
  for (let k = 0; k < sig.length; k++) {
    const { t, i } = sig[k] as { t: Token; i: number };
    if (t.kind !== 'word') continue;
    const lower = t.text.toLowerCase();
    const next = sig[k + 1]?.t;
    if (lower === 'index') {
      replace.set(i, '"index"');
    } else if (lower === 'first_value' && next?.text === '(') {
      const end = close.get(k + 1);
      if (end !== undefined && !isWord(sig[end + 1]?.t, 'over')) replace.set(i, 'restate_first_value');
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
      const alias = innerAlias(sig.slice(k + 2, end).map((s) => s.t));
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
