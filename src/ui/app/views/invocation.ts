// One invocation: its status, caller and children, the actions on it, and its journal as a
// timeline (steps and their results, sleeps and their wake-up time, calls and sends linked to
// the invocations they created, promises, awakeables and signals, retries and the last failure).
import type { VNode } from 'preact';
import { useState } from 'preact/hooks';
import { INVOCATION_OPS, invocationOp, literal, query, type InvocationOp, type Row } from '../api.ts';
import { ConfirmDialog, ErrorBox, StatusBadge, Time, formatDuration, href, html, usePolled, type Confirmation } from '../html.ts';
import { buildTimeline, type EntryResult, type TimelineEntry } from '../journal.ts';

async function load(id: string) {
  const [status, journal, children] = await Promise.all([
    query(`SELECT * FROM sys_invocation WHERE id = ${literal(id)}`),
    query(`SELECT index, entry_type, name, completed, invoked_id, invoked_target, sleep_wakeup_at, promise_name, raw
      FROM sys_journal WHERE id = ${literal(id)} ORDER BY index`),
    // Children: those naming this one as caller, and those its journal's calls and sends created
    // (a completed invocation no longer names its caller).
    query(`SELECT id, target, status, created_at FROM sys_invocation WHERE invoked_by_id = ${literal(id)}
      OR id IN (SELECT invoked_id FROM sys_journal WHERE id = ${literal(id)} AND invoked_id IS NOT NULL) ORDER BY created_at`),
  ]);
  return { status: status[0], timeline: buildTimeline(journal), children };
}

function Result({ r }: { r: EntryResult | undefined }): VNode | null {
  if (r === undefined) return null;
  return r.ok
    ? html`<span class="result ok" title="result"><code>${r.text}</code></span>`
    : html`<span class="result failed" title="failure"><code>[${r.code}] ${r.message}</code></span>`;
}

function describe(e: TimelineEntry): VNode {
  switch (e.type) {
    case 'Sleep': {
      const at = e.sleepWakeUpAt;
      const left = at !== undefined ? Date.parse(at) - Date.now() : undefined;
      return html`<span>wakes up at <${Time} at=${at} />${left !== undefined && left > 0 ? html` <small>(in ${formatDuration(left)})</small>` : ''}</span>`;
    }
    case 'Call':
    case 'OneWayCall':
      return html`<span>${e.type === 'Call' ? 'calls' : 'sends to'} <strong>${e.invokedTarget}</strong>${
        e.invokedId !== undefined ? html` → <a class="mono" href=${href('invocation', e.invokedId)}>${e.invokedId}</a>` : ''
      }</span>`;
    case 'GetPromise':
    case 'PeekPromise':
    case 'CompletePromise':
      return html`<span>promise <strong>${e.promiseName}</strong></span>`;
    case 'SignalNotification':
      return html`<span>${typeof e.signalId === 'number' && e.signalId >= 17 ? 'awakeable' : 'signal'} <strong>${String(e.signalId ?? '')}</strong></span>`;
    default:
      return html`<span></span>`;
  }
}

function entryState(e: TimelineEntry): string {
  if (e.category === 'notification') return 'notification';
  if (e.completed === false) return 'waiting';
  if (e.completedBy?.result?.ok === false || e.result?.ok === false) return 'failed';
  return 'done';
}

/**
 * The journal, one row per entry, commands with the result that completed them. Notifications
 * that only complete a command are folded into it unless asked for; signals stay visible.
 */
function Timeline({ entries, status }: { entries: TimelineEntry[]; status: Row }): VNode {
  const [all, setAll] = useState(false);
  if (entries.length === 0) return html`<p class="muted">The journal is empty.</p>`;
  const retries = Number(status.retry_count ?? 0);
  const folded = entries.filter((e) => e.completes !== undefined).length;
  const shown = all ? entries : entries.filter((e) => e.completes === undefined);
  return html`${folded > 0 &&
    html`<label class="toggle"><input type="checkbox" checked=${all} onChange=${() => setAll(!all)} />
      Show the ${folded} notifications that completed commands</label>`}
    <ol class="timeline">
    ${shown.map(
      (e) => html`<li class=${`entry ${e.category} state-${entryState(e)}`} data-type=${e.type}>
        <span class="dot" aria-hidden="true"></span>
        <div class="entry-head">
          <span class="idx">#${e.index}</span>
          <strong class="etype">${e.type}</strong>
          ${e.name !== undefined && html`<span class="ename">“${e.name}”</span>`}
          ${e.category === 'command' && e.completed !== undefined && html`<span class=${`badge ${e.completed ? 'status-completed' : 'status-suspended'}`}>${e.completed ? 'completed' : 'waiting'}</span>`}
        </div>
        <div class="entry-body">
          ${describe(e)}
          <${Result} r=${e.completedBy?.result ?? e.result} />
          ${e.completedBy !== undefined && html`<small class="muted"> (completed by #${e.completedBy.index})</small>`}
        </div>
      </li>`,
    )}
    ${status.last_failure !== undefined &&
    html`<li class="entry attempt state-failed" data-type="attempt">
      <span class="dot" aria-hidden="true"></span>
      <div class="entry-head">
        <strong class="etype">Last attempt failed</strong>
        ${retries > 0 && html`<span class="badge status-backing-off">${retries} ${retries === 1 ? 'retry' : 'retries'}</span>`}
      </div>
      <div class="entry-body">
        <span class="result failed"><code>${status.last_failure}</code></span>
        ${status.next_retry_at !== undefined && html`<div>next retry at <${Time} at=${status.next_retry_at as string} /></div>`}
      </div>
    </li>`}
  </ol>`;
}

function Field({ label, children }: { label: string; children: unknown }): VNode {
  return html`<div class="field"><dt>${label}</dt><dd>${children}</dd></div>`;
}

function Summary({ s }: { s: Row }): VNode {
  const created = s.created_at as string | undefined;
  const completed = s.completed_at as string | undefined;
  const ran = created !== undefined && completed !== undefined ? Date.parse(completed) - Date.parse(created) : undefined;
  return html`<dl class="summary">
    <${Field} label="Status"><${StatusBadge} status=${s.status as string} /><//>
    <${Field} label="Target">${s.target}<//>
    <${Field} label="Caller">${
      s.invoked_by_id !== undefined
        ? html`<a class="mono" href=${href('invocation', String(s.invoked_by_id))}>${s.invoked_by_id}</a>`
        : (s.invoked_by ?? 'ingress')
    }<//>
    ${s.target_service_key !== undefined &&
    html`<${Field} label="Object">
      <a href=${href('object', String(s.target_service_name), String(s.target_service_key))}>${s.target_service_name}/${s.target_service_key}</a><//>`}
    <${Field} label="Created"><${Time} at=${created} /><//>
    <${Field} label="Modified"><${Time} at=${s.modified_at as string} /><//>
    ${completed !== undefined && html`<${Field} label="Completed"><${Time} at=${completed} />${ran !== undefined ? html` <small>after ${formatDuration(ran)}</small>` : ''}<//>`}
    <${Field} label="Deployment"><span class="mono">${s.pinned_deployment_id ?? '—'}</span><//>
    ${s.idempotency_key !== undefined && html`<${Field} label="Idempotency key">${s.idempotency_key}<//>`}
    ${s.completion_result !== undefined &&
    html`<${Field} label="Outcome">${s.completion_result === 'failure' ? html`<span class="failure">${s.completion_failure}</span>` : 'success'}<//>`}
    <${Field} label="Retries">${s.retry_count ?? '—'}${s.last_start_at !== undefined ? html` · last attempt started <${Time} at=${s.last_start_at as string} />` : ''}${
      s.next_retry_at !== undefined ? html` · next retry <${Time} at=${s.next_retry_at as string} />` : ''
    }<//>
    ${s.last_failure !== undefined &&
    html`<${Field} label="Last failure"><span class="failure">${s.last_failure}</span><//>`}
  </dl>`;
}

/** The view of one invocation. */
export function InvocationView({ id }: { id: string }): VNode {
  const { data, error, reload } = usePolled(() => load(id), [id]);
  const [confirming, setConfirming] = useState<Confirmation | undefined>(undefined);
  const [outcome, setOutcome] = useState<string | undefined>(undefined);
  const act = (op: InvocationOp): void =>
    setConfirming({
      title: `${op} this invocation?`,
      body: html`<p>This sends <code>${op}</code> to <span class="mono">${id}</span>.</p>`,
      confirmLabel: op,
      run: async () => {
        const answer = await invocationOp(id, op);
        if (op === 'restart-as-new' && answer?.new_invocation_id !== undefined) {
          location.hash = href('invocation', answer.new_invocation_id);
          return;
        }
        if (op === 'purge') {
          location.hash = '#/invocations';
          return;
        }
        setOutcome(`${op}: accepted`);
        reload();
      },
    });
  return html`<section>
    <h1 class="mono">${id}</h1>
    <${ErrorBox} error=${error} />
    ${outcome !== undefined && html`<div class="notice" role="status">${outcome}</div>`}
    <div class="actions">
      ${INVOCATION_OPS.map((op) => html`<button type="button" class=${op === 'kill' || op === 'purge' ? 'danger' : ''} onClick=${() => act(op)}>${op}</button>`)}
    </div>
    ${data !== undefined && data.status === undefined && html`<p class="muted">No invocation with this id (it may have been purged).</p>`}
    ${data?.status !== undefined &&
    html`<${Summary} s=${data.status} />
      <h2>Journal</h2>
      <${Timeline} entries=${data.timeline} status=${data.status} />
      <h2>Children</h2>
      ${data.children.length === 0
        ? html`<p class="muted">None.</p>`
        : html`<ul class="children">${data.children.map(
            (c) => html`<li><a class="mono" href=${href('invocation', String(c.id))}>${c.id}</a> ${c.target} <${StatusBadge} status=${c.status as string} /></li>`,
          )}</ul>`}`}
    ${confirming !== undefined && html`<${ConfirmDialog} c=${confirming} onClose=${() => setConfirming(undefined)} />`}
  </section>`;
}
