// A virtual object or workflow key: its state (viewed, and edited after a confirmation through
// `POST /services/{s}/state`, which the server refuses while an invocation holds the key or
// when the state changed since it was read), its lock holder, its inbox and its promises.
import type { VNode } from 'preact';
import { useState } from 'preact/hooks';
import { hexToBytes, listServices, literal, query, replaceState, stateVersion, type Row } from '../api.ts';
import { ConfirmDialog, ErrorBox, StatusBadge, Time, href, html, usePolled, type Confirmation } from '../html.ts';

async function load(service: string, key: string) {
  const s = literal(service);
  const k = literal(key);
  const [state, lock, inbox, promises] = await Promise.all([
    query(`SELECT key, value_utf8, value FROM state WHERE service_name = ${s} AND service_key = ${k} ORDER BY key`),
    query(`SELECT invocation_id FROM sys_keyed_service_status WHERE service_name = ${s} AND service_key = ${k}`),
    query(`SELECT b.id, b.sequence_number, b.created_at, i.target FROM sys_inbox b LEFT JOIN sys_invocation i ON i.id = b.id
      WHERE b.service_name = ${s} AND b.service_key = ${k} ORDER BY b.sequence_number`),
    query(`SELECT key, completed, completion_success_value_utf8, completion_failure FROM sys_promise
      WHERE service_name = ${s} AND service_key = ${k} ORDER BY key`),
  ]);
  return { state, holder: lock[0]?.invocation_id as string | undefined, inbox, promises };
}

/** One entry of the state editor: text for UTF-8 values, bytes kept as they are otherwise. */
interface DraftEntry {
  name: string;
  text: string;
  /** Set for a value that is not UTF-8: it is kept unchanged. */
  binary?: Uint8Array;
}

function toDraft(state: Row[]): DraftEntry[] {
  return state.map((r) =>
    r.value_utf8 !== undefined
      ? { name: String(r.key), text: String(r.value_utf8) }
      : { name: String(r.key), text: '', binary: hexToBytes(String(r.value ?? '')) },
  );
}

function entriesOf(draft: DraftEntry[]): [string, Uint8Array][] {
  const enc = new TextEncoder();
  return draft.filter((d) => d.name !== '').map((d) => [d.name, d.binary ?? enc.encode(d.text)]);
}

function StateEditor({ service, objectKey, base, onDone }: { service: string; objectKey: string; base: Row[]; onDone: () => void }): VNode {
  const [draft, setDraft] = useState<DraftEntry[]>(() => toDraft(base));
  const [confirming, setConfirming] = useState<Confirmation | undefined>(undefined);
  const update = (i: number, change: Partial<DraftEntry>): void => setDraft(draft.map((d, j) => (j === i ? { ...d, ...change } : d)));
  const names = draft.map((d) => d.name).filter((n) => n !== '');
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  const save = (): void => {
    const entries = entriesOf(draft);
    setConfirming({
      title: `Replace the state of ${service}/${objectKey}?`,
      body: html`<p>The state becomes exactly:</p>
        ${entries.length === 0
          ? html`<p><em>(empty: every entry is removed)</em></p>`
          : html`<ul class="idlist">${draft.filter((d) => d.name !== '').map(
              (d) => html`<li><strong>${d.name}</strong> = <code>${d.binary !== undefined ? `(${d.binary.length} bytes, unchanged)` : d.text}</code></li>`,
            )}</ul>`}
        <p class="muted">Refused if an invocation holds this key, or if the state changed since you opened the editor.</p>`,
      confirmLabel: 'Replace state',
      run: async () => {
        const enc = new TextEncoder();
        const version = await stateVersion(base.map((r) => [enc.encode(String(r.key)), hexToBytes(String(r.value ?? ''))]));
        await replaceState(service, objectKey, entries, version);
        onDone();
      },
    });
  };
  return html`<form class="state-editor" onSubmit=${(e: Event) => { e.preventDefault(); save(); }}>
    <p class="muted">Values are stored as the UTF-8 bytes of the text (JSON for values the SDK wrote as JSON).</p>
    ${draft.map(
      (d, i) => html`<div class="state-row">
        <input aria-label="state key" placeholder="key" value=${d.name} onInput=${(e: Event) => update(i, { name: (e.target as HTMLInputElement).value })} />
        ${d.binary !== undefined
          ? html`<span class="muted">${d.binary.length} bytes (not UTF-8, kept)</span>`
          : html`<textarea aria-label=${`value of ${d.name}`} rows="1" value=${d.text}
              onInput=${(e: Event) => update(i, { text: (e.target as HTMLTextAreaElement).value })}></textarea>`}
        <button type="button" onClick=${() => setDraft(draft.filter((_, j) => j !== i))}>Remove</button>
      </div>`,
    )}
    ${duplicate !== undefined && html`<div class="error" role="alert">The key “${duplicate}” appears twice.</div>`}
    <div class="buttons">
      <button type="button" onClick=${() => setDraft([...draft, { name: '', text: '' }])}>Add entry</button>
      <button type="button" onClick=${onDone}>Discard</button>
      <button type="submit" class="danger" disabled=${duplicate !== undefined}>Save…</button>
    </div>
    ${confirming !== undefined && html`<${ConfirmDialog} c=${confirming} onClose=${() => setConfirming(undefined)} />`}
  </form>`;
}

/** The view of one object or workflow key. */
export function ObjectView({ service, objectKey }: { service: string; objectKey: string }): VNode {
  const { data, error, reload } = usePolled(() => load(service, objectKey), [service, objectKey]);
  const [editing, setEditing] = useState<Row[] | undefined>(undefined);
  return html`<section>
    <h1>${service}/<span class="mono">${objectKey}</span></h1>
    <p><a href=${`#/invocations?service=${encodeURIComponent(service)}&key=${encodeURIComponent(objectKey)}`}>Invocations on this key</a></p>
    <${ErrorBox} error=${error} />
    ${data !== undefined &&
    html`<h2>State</h2>
      ${editing !== undefined
        ? html`<${StateEditor} service=${service} objectKey=${objectKey} base=${editing} onDone=${() => { setEditing(undefined); reload(); }} />`
        : html`${data.state.length === 0
              ? html`<p class="muted">No state.</p>`
              : html`<div class="table-wrap"><table class="state">
                  <thead><tr><th>Key</th><th>Value</th></tr></thead>
                  <tbody>${data.state.map(
                    (r) => html`<tr><td>${r.key}</td><td><code>${r.value_utf8 ?? `0x${String(r.value ?? '')}`}</code></td></tr>`,
                  )}</tbody></table></div>`}
            <button type="button" onClick=${() => setEditing(data.state)}>Edit state</button>`}
      <h2>Lock holder</h2>
      ${data.holder !== undefined
        ? html`<p><a class="mono" href=${href('invocation', data.holder)}>${data.holder}</a></p>`
        : html`<p class="muted">Free.</p>`}
      <h2>Inbox</h2>
      ${data.inbox.length === 0
        ? html`<p class="muted">Empty.</p>`
        : html`<ol class="children">${data.inbox.map(
            (b) => html`<li><a class="mono" href=${href('invocation', String(b.id))}>${b.id}</a> ${b.target ?? ''} <${Time} at=${b.created_at as string} /></li>`,
          )}</ol>`}
      <h2>Promises</h2>
      ${data.promises.length === 0
        ? html`<p class="muted">None.</p>`
        : html`<div class="table-wrap"><table>
            <thead><tr><th>Promise</th><th>Status</th><th>Value</th></tr></thead>
            <tbody>${data.promises.map(
              (p) => html`<tr><td>${p.key}</td><td><${StatusBadge} status=${p.completed === true ? 'completed' : 'pending'} /></td>
                <td>${p.completion_failure !== undefined ? html`<span class="failure">${p.completion_failure}</span>` : html`<code>${p.completion_success_value_utf8 ?? ''}</code>`}</td></tr>`,
            )}</tbody></table></div>`}`}
  </section>`;
}

async function loadKeys(service: string | undefined) {
  const services = (await listServices()).filter((s) => s.ty !== 'Service');
  const keys =
    service === undefined
      ? []
      : await query(`SELECT service_key AS k FROM state WHERE service_name = ${literal(service)}
          UNION SELECT target_service_key FROM sys_invocation WHERE target_service_name = ${literal(service)} AND target_service_key IS NOT NULL
          ORDER BY 1 LIMIT 200`);
  return { services, keys: keys.map((r) => String(r.k)) };
}

/** Picks an object or workflow: its service, then a key seen in state or invocations, or typed. */
export function ObjectPicker({ service }: { service: string | undefined }): VNode {
  const { data, error } = usePolled(() => loadKeys(service), [service]);
  return html`<section>
    <h1>Objects and workflows</h1>
    <${ErrorBox} error=${error} />
    <form class="filters" onSubmit=${(e: Event) => {
      e.preventDefault();
      const f = new FormData(e.currentTarget as HTMLFormElement);
      const s = String(f.get('service') ?? '');
      const k = String(f.get('key') ?? '');
      location.hash = k !== '' && s !== '' ? href('object', s, k) : `#/objects?service=${encodeURIComponent(s)}`;
    }}>
      <label>Service <select name="service">
        <option value="">choose…</option>
        ${data?.services.map((s) => html`<option value=${s.name} selected=${s.name === service}>${s.name} (${s.ty})</option>`)}
      </select></label>
      <label>Key <input name="key" /></label>
      <div class="filter-buttons"><button type="submit">Open</button></div>
    </form>
    ${service !== undefined && data !== undefined &&
    html`<h2>Keys of ${service}</h2>
      ${data.keys.length === 0
        ? html`<p class="muted">No keys seen yet.</p>`
        : html`<ul class="keys">${data.keys.map((k) => html`<li><a href=${href('object', service, k)}>${k}</a></li>`)}</ul>`}`}
  </section>`;
}
