// Overview: services and their handlers, deployments, invocations counted by status, and the
// most recent failures (invocations that failed, or are retrying after a failure).
import type { VNode } from 'preact';
import { listDeployments, listServices, query } from '../api.ts';
import { ErrorBox, StatusBadge, Time, href, html, usePolled } from '../html.ts';

async function load() {
  const [services, deployments, counts, failures] = await Promise.all([
    listServices(),
    listDeployments(),
    query('SELECT status, count(*) AS n FROM sys_invocation GROUP BY status ORDER BY status'),
    query(`SELECT id, target, status, last_failure, completion_failure, retry_count, modified_at FROM sys_invocation
      WHERE last_failure IS NOT NULL OR completion_failure IS NOT NULL ORDER BY modified_at DESC LIMIT 10`),
  ]);
  return { services, deployments, counts, failures };
}

/** The landing view. */
export function Overview(): VNode {
  const { data, error } = usePolled(load, []);
  return html`<section>
    <h1>Overview</h1>
    <${ErrorBox} error=${error} />
    ${data === undefined
      ? error === undefined && html`<p class="muted">Loading…</p>`
      : html`
          <h2>Invocations by status</h2>
          <div class="counts">
            ${data.counts.length === 0 && html`<p class="muted">No invocations yet.</p>`}
            ${data.counts.map(
              (c) =>
                html`<a class="count" href=${`#/invocations?status=${encodeURIComponent(String(c.status))}`}>
                  <${StatusBadge} status=${c.status as string} /><span class="n">${c.n}</span>
                </a>`,
            )}
          </div>
          <h2>Recent failures</h2>
          ${data.failures.length === 0
            ? html`<p class="muted">None.</p>`
            : html`<div class="table-wrap"><table>
                <thead><tr><th>Invocation</th><th>Target</th><th>Status</th><th>Failure</th><th>Retries</th><th>When</th></tr></thead>
                <tbody>${data.failures.map(
                  (f) => html`<tr>
                    <td><a class="mono" href=${href('invocation', String(f.id))}>${f.id}</a></td>
                    <td>${f.target}</td>
                    <td><${StatusBadge} status=${f.status as string} /></td>
                    <td class="failure">${f.last_failure ?? f.completion_failure}</td>
                    <td>${f.retry_count ?? ''}</td>
                    <td><${Time} at=${f.modified_at as string} /></td>
                  </tr>`,
                )}</tbody></table></div>`}
          <h2>Services</h2>
          <div class="table-wrap"><table>
            <thead><tr><th>Service</th><th>Type</th><th>Handlers</th><th>Deployment</th></tr></thead>
            <tbody>${data.services.map(
              (s) => html`<tr>
                <td><a href=${`#/invocations?service=${encodeURIComponent(s.name)}`}>${s.name}</a></td>
                <td>${s.ty}${s.ty !== 'Service' ? html` · <a href=${`#/objects?service=${encodeURIComponent(s.name)}`}>keys</a>` : ''}</td>
                <td>${s.handlers.map((h) => html`<span class="chip">${h.name}${h.ty !== undefined ? html` <small>${h.ty}</small>` : ''}</span>`)}</td>
                <td class="mono">${s.deployment_id} <small>rev ${s.revision}</small></td>
              </tr>`,
            )}</tbody></table></div>
          <h2>Deployments</h2>
          <div class="table-wrap"><table>
            <thead><tr><th>Id</th><th>Endpoint</th><th>SDK</th><th>Services</th><th>Registered</th></tr></thead>
            <tbody>${data.deployments.map(
              (d) => html`<tr>
                <td class="mono">${d.id}</td>
                <td class="mono">${d.uri ?? ''}</td>
                <td>${d.sdk_version ?? html`<span class="muted">unknown</span>`}</td>
                <td>${d.services.map((s) => s.name).join(', ')}</td>
                <td><${Time} at=${d.created_at} /></td>
              </tr>`,
            )}</tbody></table></div>
        `}
  </section>`;
}
