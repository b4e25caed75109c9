// Invocations: a filtered, paged list over sys_invocation, and bulk operations on the selected
// rows (one admin call per invocation, as Restate's CLI does), each after a confirmation.
import type { VNode } from 'preact';
import { useState } from 'preact/hooks';
import { INVOCATION_OPS, invocationOp, literal, query, type InvocationOp } from '../api.ts';
import { ConfirmDialog, ErrorBox, StatusBadge, Time, href, html, usePolled, type Confirmation } from '../html.ts';

/** The statuses sys_invocation reports. */
const STATUSES = ['pending', 'scheduled', 'ready', 'running', 'backing-off', 'suspended', 'paused', 'completed'] as const;

/** Rows per page. */
const PAGE_SIZE = 50;

/** The filters of the list: they live in the address (`#/invocations?service=…`). */
export interface InvocationFilters {
  service?: string;
  handler?: string;
  key?: string;
  status?: string;
  deployment?: string;
  /** Created at or after (a `datetime-local` value, the browser's time zone). */
  from?: string;
  /** Created before. */
  to?: string;
  page?: string;
}

const FILTER_NAMES = ['service', 'handler', 'key', 'status', 'deployment', 'from', 'to'] as const;

/** Reads the filters from the address's query string. */
export function parseFilters(params: URLSearchParams): InvocationFilters {
  const f: InvocationFilters = {};
  for (const name of [...FILTER_NAMES, 'page'] as const) {
    const v = params.get(name);
    if (v !== null && v !== '') f[name] = v;
  }
  return f;
}

function toAddress(f: InvocationFilters): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v !== undefined && v !== '') params.set(k, v);
  const q = params.toString();
  return `#/invocations${q === '' ? '' : `?${q}`}`;
}

function whereClause(f: InvocationFilters): string {
  const where: string[] = [];
  if (f.service !== undefined) where.push(`target_service_name = ${literal(f.service)}`);
  if (f.handler !== undefined) where.push(`target_handler_name = ${literal(f.handler)}`);
  if (f.key !== undefined) where.push(`target_service_key = ${literal(f.key)}`);
  if (f.status !== undefined) where.push(`status = ${literal(f.status)}`);
  if (f.deployment !== undefined) where.push(`pinned_deployment_id = ${literal(f.deployment)}`);
  const iso = (local: string) => {
    const d = new Date(local);
    return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
  };
  const from = f.from !== undefined ? iso(f.from) : undefined;
  const to = f.to !== undefined ? iso(f.to) : undefined;
  if (from !== undefined) where.push(`created_at >= ${literal(from)}`);
  if (to !== undefined) where.push(`created_at < ${literal(to)}`);
  return where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`;
}

async function load(f: InvocationFilters) {
  const where = whereClause(f);
  const page = Math.max(0, Number(f.page ?? 0) || 0);
  const [rows, total] = await Promise.all([
    query(`SELECT id, target, status, created_at, modified_at, pinned_deployment_id, retry_count, last_failure, completion_failure
      FROM sys_invocation ${where} ORDER BY created_at DESC, id DESC LIMIT ${PAGE_SIZE} OFFSET ${page * PAGE_SIZE}`),
    query(`SELECT count(*) AS n FROM sys_invocation ${where}`),
  ]);
  return { rows, total: Number(total[0]?.n ?? 0), page };
}

/** The list view. */
export function Invocations({ filters }: { filters: InvocationFilters }): VNode {
  const key = JSON.stringify(filters);
  // The form's fields are uncontrolled (defaultValue), so a refresh never overwrites what the
  // user is typing; keyed by the filters, the form starts afresh when the address changes.
  const { data, error, reload } = usePolled(() => load(filters), [key]);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [confirming, setConfirming] = useState<Confirmation | undefined>(undefined);
  const [outcome, setOutcome] = useState<string | undefined>(undefined);

  const apply = (form: HTMLFormElement): void => {
    const next: InvocationFilters = {};
    const data = new FormData(form);
    for (const name of FILTER_NAMES) {
      const v = String(data.get(name) ?? '').trim();
      if (v !== '') next[name] = v;
    }
    setSelected(new Set());
    location.hash = toAddress(next);
  };
  const toggle = (id: string): void => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  const ids = data?.rows.map((r) => String(r.id)) ?? [];
  const allSelected = ids.length > 0 && ids.every((id) => selected.has(id));
  const bulk = (op: InvocationOp): void => {
    const targets = [...selected];
    setConfirming({
      title: `${op} ${targets.length} invocation${targets.length === 1 ? '' : 's'}?`,
      body: html`<p>This sends <code>${op}</code> to:</p><ul class="idlist">${targets.map((id) => html`<li class="mono">${id}</li>`)}</ul>`,
      confirmLabel: `${op} ${targets.length}`,
      run: async () => {
        const failed: string[] = [];
        for (const id of targets) {
          try {
            await invocationOp(id, op);
          } catch (e) {
            failed.push(`${id}: ${e instanceof Error ? e.message : String(e)}`);
          }
        }
        setOutcome(
          failed.length === 0
            ? `${op}: done for ${targets.length}`
            : `${op}: ${targets.length - failed.length} done, ${failed.length} refused — ${failed.join('; ')}`,
        );
        setSelected(new Set());
        reload();
      },
    });
  };
  const pages = data !== undefined ? Math.max(1, Math.ceil(data.total / PAGE_SIZE)) : 1;
  const goto = (page: number) => (location.hash = toAddress({ ...filters, page: String(page) }));

  return html`<section>
    <h1>Invocations</h1>
    <form class="filters" key=${key} onSubmit=${(e: Event) => { e.preventDefault(); apply(e.currentTarget as HTMLFormElement); }}>
      <label>Service <input name="service" defaultValue=${filters.service ?? ''} /></label>
      <label>Handler <input name="handler" defaultValue=${filters.handler ?? ''} /></label>
      <label>Key <input name="key" defaultValue=${filters.key ?? ''} /></label>
      <label>Status <select name="status">
        <option value="">any</option>
        ${STATUSES.map((s) => html`<option value=${s} selected=${filters.status === s}>${s}</option>`)}
      </select></label>
      <label>Deployment <input name="deployment" defaultValue=${filters.deployment ?? ''} /></label>
      <label>Created from <input type="datetime-local" name="from" defaultValue=${filters.from ?? ''} /></label>
      <label>Created before <input type="datetime-local" name="to" defaultValue=${filters.to ?? ''} /></label>
      <div class="filter-buttons">
        <button type="submit">Filter</button>
        <button type="button" onClick=${() => { setSelected(new Set()); location.hash = '#/invocations'; }}>Clear</button>
      </div>
    </form>
    <${ErrorBox} error=${error} />
    ${outcome !== undefined && html`<div class="notice" role="status">${outcome}</div>`}
    <div class="bulk">
      <span>${selected.size} selected</span>
      ${INVOCATION_OPS.filter((op) => op !== 'restart-as-new').map(
        (op) => html`<button type="button" disabled=${selected.size === 0} onClick=${() => bulk(op)}>${op}</button>`,
      )}
    </div>
    ${data !== undefined &&
    html`<div class="table-wrap"><table class="invocations">
      <thead><tr>
        <th><input type="checkbox" aria-label="select all" checked=${allSelected}
          onChange=${() => setSelected(allSelected ? new Set() : new Set(ids))} /></th>
        <th>Invocation</th><th>Target</th><th>Status</th><th>Created</th><th>Deployment</th><th>Failure</th>
      </tr></thead>
      <tbody>
        ${data.rows.length === 0 && html`<tr><td colspan="7" class="muted">No invocations match.</td></tr>`}
        ${data.rows.map((r) => {
          const id = String(r.id);
          return html`<tr key=${id}>
            <td><input type="checkbox" aria-label=${`select ${id}`} checked=${selected.has(id)} onChange=${() => toggle(id)} /></td>
            <td><a class="mono" href=${href('invocation', id)}>${id}</a></td>
            <td>${r.target}</td>
            <td><${StatusBadge} status=${r.status as string} />${r.retry_count !== undefined && Number(r.retry_count) > 0 ? html` <small>${r.retry_count} retries</small>` : ''}</td>
            <td><${Time} at=${r.created_at as string} /></td>
            <td class="mono">${r.pinned_deployment_id ?? ''}</td>
            <td class="failure">${r.last_failure ?? r.completion_failure ?? ''}</td>
          </tr>`;
        })}
      </tbody>
    </table></div>
    <div class="pager">
      <button type="button" disabled=${data.page === 0} onClick=${() => goto(data.page - 1)}>Previous</button>
      <span>page ${data.page + 1} of ${pages} · ${data.total} invocation${data.total === 1 ? '' : 's'}</span>
      <button type="button" disabled=${data.page + 1 >= pages} onClick=${() => goto(data.page + 1)}>Next</button>
    </div>`}
    ${confirming !== undefined && html`<${ConfirmDialog} c=${confirming} onClose=${() => setConfirming(undefined)} />`}
  </section>`;
}
