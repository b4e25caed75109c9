// The SQL console: any read-only query over the introspection tables, through `POST /query`.
import type { VNode } from 'preact';
import { useState } from 'preact/hooks';
import { query, type Row } from '../api.ts';
import { ErrorBox, html } from '../html.ts';

const EXAMPLE = 'SELECT id, target, status, created_at FROM sys_invocation ORDER BY created_at DESC LIMIT 20';

const TABLES = [
  'sys_invocation', 'sys_journal', 'state', 'sys_inbox', 'sys_keyed_service_status', 'sys_promise',
  'sys_idempotency', 'sys_service', 'sys_deployment', 'sys_invocation_state', 'sys_invocation_status',
];

/** The console view. */
export function SqlConsole(): VNode {
  const [sql, setSql] = useState(EXAMPLE);
  const [rows, setRows] = useState<Row[] | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const [took, setTook] = useState(0);
  const run = (): void => {
    setBusy(true);
    setError(undefined);
    const started = performance.now();
    query(sql).then(
      (r) => {
        setRows(r);
        setTook(performance.now() - started);
        setBusy(false);
      },
      (e: unknown) => {
        setError(e);
        setRows(undefined);
        setBusy(false);
      },
    );
  };
  const columns = rows === undefined ? [] : [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return html`<section>
    <h1>SQL</h1>
    <p class="muted">Read-only SQL over ${TABLES.map((t, i) => html`${i > 0 ? ', ' : ''}<code>${t}</code>`)}. Ctrl+Enter runs.</p>
    <form class="sql" onSubmit=${(e: Event) => { e.preventDefault(); run(); }}>
      <textarea aria-label="SQL query" rows="5" value=${sql}
        onInput=${(e: Event) => setSql((e.target as HTMLTextAreaElement).value)}
        onKeyDown=${(e: KeyboardEvent) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(); } }}></textarea>
      <button type="submit" disabled=${busy}>${busy ? 'Running…' : 'Run'}</button>
    </form>
    <${ErrorBox} error=${error} />
    ${rows !== undefined &&
    html`<p class="muted">${rows.length} row${rows.length === 1 ? '' : 's'} in ${Math.round(took)} ms</p>
      <div class="table-wrap"><table class="sql-result">
        <thead><tr>${columns.map((c) => html`<th>${c}</th>`)}</tr></thead>
        <tbody>${rows.map((r) => html`<tr>${columns.map((c) => html`<td>${r[c] === undefined ? html`<span class="muted">NULL</span>` : String(r[c])}</td>`)}</tr>`)}</tbody>
      </table></div>`}
  </section>`;
}
