import { Worker } from 'node:worker_threads';
import { DEFAULT_QUERY_LIMITS, QueryError, QueryErrorKind } from '../../query.ts';
import type { QueryAttempt, QueryEngine, QueryLimits, QueryResult } from '../../query.ts';
import type { QueryReply, QueryRequest, WorkerData } from './protocol.ts';

/**
 * The worker's entry: from the sources, worker-entry.mjs loads worker.ts through tsx; built
 * (dist/, where tsx is not installed), the compiled worker.js runs as it is.
 */
const ENTRY = import.meta.url.endsWith('.ts') ? new URL('./worker-entry.mjs', import.meta.url) : new URL('./worker.js', import.meta.url);
/** Time the worker gets beyond the limit to report a timeout itself before it is terminated. */
const GRACE_MS = 2_000;
/** Queries waiting for the worker beyond this many are refused. */
const MAX_WAITING = 32;
/** Longest a fresh worker may take to open its connection and create the views. */
const STARTUP_MS = 60_000;

/**
 * Introspection queries on an SQLite store, run by a worker thread on its own read-only
 * connection, one at a time.
 *
 * States: no worker (none started yet, or the last one was terminated) → starting (opening its
 * connection and creating the views, which no query's time limit counts) → running. A query
 * past its time limit is stopped by the worker itself at the next view row; one that does not
 * stop (a long computation that reads no view) makes the engine terminate the worker and answer
 * `timeout`; the next query starts a fresh worker.
 */
export class SqliteQueryEngine implements QueryEngine {
  readonly #path: string;
  readonly #limits: QueryLimits;
  readonly #attempts: () => readonly QueryAttempt[];
  #worker: Worker | undefined;
  /** Resolves once the worker has its connection and views (its time does not count against a query). */
  #ready: Promise<void> = Promise.resolve();
  #current: { id: number; settle: (reply: QueryReply) => void } | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #waiting = 0;
  #nextId = 1;
  #closed = false;

  /** `attempts` reports the invoker's attempts in flight (none when absent). */
  constructor(path: string, limits: QueryLimits = DEFAULT_QUERY_LIMITS, attempts: () => readonly QueryAttempt[] = () => []) {
    this.#path = path;
    this.#limits = limits;
    this.#attempts = attempts;
  }

  query(sql: string): Promise<QueryResult> {
    if (this.#closed) return Promise.reject(new QueryError(QueryErrorKind.Unavailable, 'the query engine is closed'));
    if (this.#waiting >= MAX_WAITING) {
      return Promise.reject(new QueryError(QueryErrorKind.Unavailable, 'too many queries waiting; try again later'));
    }
    this.#waiting++;
    const run = this.#chain.then(() => this.#run(sql));
    this.#chain = run.catch(() => undefined);
    return run.finally(() => this.#waiting--);
  }

  async #run(sql: string): Promise<QueryResult> {
    if (this.#closed) throw new QueryError(QueryErrorKind.Unavailable, 'the query engine is closed');
    const worker = this.#ensureWorker();
    await this.#ready;
    const req: QueryRequest = {
      id: this.#nextId++,
      sql,
      timeoutMs: this.#limits.timeoutMs,
      maxRows: this.#limits.maxRows,
      attempts: this.#attempts(),
    };
    const reply = await new Promise<QueryReply>((resolve) => {
      const timer = setTimeout(() => {
        this.#stopWorker();
        resolve({
          id: req.id,
          ok: false,
          kind: QueryErrorKind.Timeout,
          message: `the query ran longer than ${this.#limits.timeoutMs} ms and was interrupted`,
        });
      }, this.#limits.timeoutMs + GRACE_MS);
      this.#current = {
        id: req.id,
        settle: (r) => {
          clearTimeout(timer);
          this.#current = undefined;
          resolve(r);
        },
      };
      worker.postMessage(req);
    });
    if (!reply.ok) throw new QueryError(reply.kind, reply.message);
    return { columns: reply.columns, rows: reply.rows };
  }

  #ensureWorker(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const data: WorkerData = { path: this.#path };
    const worker = new Worker(ENTRY, { workerData: data });
    worker.unref();
    let started!: () => void;
    let failedToStart!: (err: QueryError) => void;
    this.#ready = new Promise<void>((resolve, reject) => {
      started = resolve;
      failedToStart = reject;
    });
    // Awaited by the query that started the worker; a failure after that has no one to tell.
    this.#ready.catch(() => undefined);
    const startup = setTimeout(() => {
      if (this.#worker === worker) this.#stopWorker();
      failedToStart(new QueryError(QueryErrorKind.Unavailable, `the query worker did not start within ${STARTUP_MS} ms`));
    }, STARTUP_MS);
    worker.on('message', (reply: QueryReply | { ready: true }) => {
      if ('ready' in reply) {
        clearTimeout(startup);
        started();
      } else if (this.#current?.id === reply.id) this.#current.settle(reply);
    });
    const fail = (message: string) => {
      clearTimeout(startup);
      failedToStart(new QueryError(QueryErrorKind.Unavailable, message));
      // A worker already replaced (terminated after a timeout) no longer owns the current query.
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      const current = this.#current;
      if (current) current.settle({ id: current.id, ok: false, kind: QueryErrorKind.Unavailable, message });
    };
    worker.on('error', (err) => fail(`the query worker failed: ${err.message}`));
    worker.on('exit', (code) => fail(`the query worker exited (code ${code})`));
    this.#worker = worker;
    return worker;
  }

  #stopWorker(): void {
    const worker = this.#worker;
    this.#worker = undefined;
    // A worker busy in native code ends once SQLite hands control back; nobody waits for it.
    if (worker) void worker.terminate();
  }

  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    this.#worker = undefined;
    if (worker) await worker.terminate();
  }
}
