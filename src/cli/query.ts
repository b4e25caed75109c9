import { tableFromIPC } from 'apache-arrow';
import type { Command } from 'commander';
import type { AdminClient } from './admin-client.ts';
import { CliError } from './errors.ts';
import { client, withAdminOptions } from './operator.ts';
import { printJson, printTable } from './output.ts';

// `endure sql`, and the query helper the other inspection commands share. Results come as an
// Arrow stream: it keeps the column order and the NULLs that the JSON answer leaves out.

/** A query result: columns in order, rows as plain values (NULL as null). */
export interface Rows {
  columns: string[];
  rows: unknown[][];
}

function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  return v ?? null;
}

/** Runs SQL through the admin API's `/query`. */
export async function runQuery(admin: AdminClient, sql: string): Promise<Rows> {
  const bytes = (await admin.request('POST', '/query', { query: sql }, { accept: 'application/vnd.apache.arrow.stream' })) as Uint8Array;
  const table = tableFromIPC(bytes);
  const columns = table.schema.fields.map((f) => f.name);
  const rows: unknown[][] = [];
  for (let r = 0; r < table.numRows; r++) {
    rows.push(columns.map((_c, k) => plain(table.getChildAt(k)?.get(r))));
  }
  return { columns, rows };
}

/** Rows as objects by column name (NULLs kept), for `--json`. */
export function asObjects(result: Rows): Record<string, unknown>[] {
  return result.rows.map((row) => Object.fromEntries(result.columns.map((c, k) => [c, row[k]])));
}

/** A SQL string literal. */
export function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function csvField(v: unknown): string {
  const s = cell(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Prints rows as a table, JSON or CSV. */
export function printRows(result: Rows, format: string): void {
  switch (format) {
    case 'json':
      printJson(asObjects(result));
      return;
    case 'csv':
      process.stdout.write(`${[result.columns, ...result.rows].map((r) => r.map(csvField).join(',')).join('\n')}\n`);
      return;
    case 'table':
      printTable(
        result.columns.map((c) => c.toUpperCase()),
        result.rows.map((r) => r.map(cell)),
      );
      process.stdout.write(`${result.rows.length} row${result.rows.length === 1 ? '' : 's'}\n`);
      return;
    default:
      throw new CliError(`unknown format '${format}': use table, json or csv`);
  }
}

/** Adds `endure sql`. */
export function addSqlCommand(program: Command): void {
  withAdminOptions(
    program
      .command('sql <query>')
      .description("run SQL over Restate's introspection tables (sys_invocation, sys_journal, state, …)")
      .option('--format <format>', 'table, json or csv', 'table'),
  ).action(async (sql: string, o: { format: string }, cmd: Command) => {
    const { admin, opts } = client(cmd);
    printRows(await runQuery(admin, sql), opts.json ? 'json' : o.format);
  });
}
