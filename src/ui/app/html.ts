// What every view shares: the `html` template tag (Preact through htm: no build of templates,
// no JSX settings), polling, the error box and the confirmation dialog.
import type { ComponentChildren, VNode } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { html as preactHtml } from 'htm/preact';
import { ApiError } from './api.ts';

/** Tagged template that builds Preact elements. */
export const html: (strings: TemplateStringsArray, ...values: unknown[]) => VNode = preactHtml;

/** How often views reload what they show. */
export const REFRESH_MS = 2000;

/** The state of data loaded from the server and reloaded every {@link REFRESH_MS}. */
export interface Polled<T> {
  data: T | undefined;
  error: unknown;
  /** Loads again now (after an action, say). */
  reload: () => void;
}

/**
 * Loads `load()` now, whenever `deps` change, and again every REFRESH_MS while the tab is
 * visible. An error is kept next to the last good data, so a failing refresh does not blank
 * the page.
 */
export function usePolled<T>(load: () => Promise<T>, deps: unknown[]): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const generation = useRef(0);
  const run = useCallback(() => {
    const mine = ++generation.current;
    load().then(
      (d) => {
        if (mine !== generation.current) return;
        setData(d);
        setError(undefined);
      },
      (e: unknown) => {
        if (mine === generation.current) setError(e);
      },
    );
  }, deps);
  useEffect(() => {
    setData(undefined);
    run();
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') run();
    }, REFRESH_MS);
    return () => {
      generation.current++;
      clearInterval(timer);
    };
  }, [run]);
  return { data, error, reload: run };
}

/** Fired when the server answers 401, so the shell can ask for a token. */
export const UNAUTHORIZED_EVENT = 'endure:unauthorized';

/** A server error shown as the server said it, with its status. */
export function ErrorBox({ error }: { error: unknown }): VNode | null {
  useEffect(() => {
    if (error instanceof ApiError && error.status === 401) window.dispatchEvent(new Event(UNAUTHORIZED_EVENT));
  }, [error]);
  if (error === undefined || error === null) return null;
  const status = error instanceof ApiError ? (error.status === 0 ? 'unreachable' : String(error.status)) : 'error';
  const message = error instanceof Error ? error.message : String(error);
  return html`<div class="error" role="alert"><strong>${status}</strong> ${message}</div>`;
}

/** What a confirmation asks, and what it does once confirmed. */
export interface Confirmation {
  title: string;
  body: ComponentChildren;
  confirmLabel: string;
  /** Runs the action; an error is shown in the dialog and the dialog stays open. */
  run: () => Promise<void>;
}

/** A modal dialog that runs its action only after an explicit click. */
export function ConfirmDialog({ c, onClose }: { c: Confirmation; onClose: () => void }): VNode {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const confirm = (): void => {
    setBusy(true);
    setError(undefined);
    c.run().then(
      () => onClose(),
      (e: unknown) => {
        setError(e);
        setBusy(false);
      },
    );
  };
  return html`<div class="backdrop">
    <div class="dialog" role="dialog" aria-modal="true" aria-label=${c.title}>
      <h2>${c.title}</h2>
      <div class="dialog-body">${c.body}</div>
      <${ErrorBox} error=${error} />
      <div class="buttons">
        <button type="button" onClick=${onClose} disabled=${busy}>Back</button>
        <button type="button" class="danger" onClick=${confirm} disabled=${busy}>${busy ? 'Working…' : c.confirmLabel}</button>
      </div>
    </div>
  </div>`;
}

/** A link to another view of the UI. */
export function href(...parts: string[]): string {
  return `#/${parts.map(encodeURIComponent).join('/')}`;
}

/** A timestamp shown in the browser's time zone, with the exact value on hover. */
export function Time({ at }: { at: string | undefined }): VNode | null {
  if (at === undefined) return null;
  const d = new Date(at);
  return html`<time datetime=${at} title=${at}>${d.toLocaleString()}</time>`;
}

/** A status as a coloured badge. */
export function StatusBadge({ status }: { status: string | undefined }): VNode {
  return html`<span class=${`badge status-${status ?? 'unknown'}`}>${status ?? 'unknown'}</span>`;
}

/** A duration in ms, short: `850 ms`, `3.2 s`, `4 min 10 s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const min = Math.floor(ms / 60_000);
  if (min < 60) return `${min} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${Math.floor(min / 60)} h ${min % 60} min`;
}
