import type { IncomingMessage, ServerResponse } from 'node:http';
import { pino } from 'pino';
import type { BearerTokens } from '../common/bearer-tokens.ts';
import { acceptUpload, listenHttp } from '../common/http-listener.ts';
import { LogLimiter } from '../common/log-limiter.ts';
import type { Logger } from '../common/logger.ts';
import { DEFAULT_CONFIG } from '../config/index.ts';
import { AdminError, AdminErrorCode, errorResponse } from './errors.ts';
import type { AdminHandler, AdminRequest, AdminResponse } from './http.ts';

/** Options of the admin HTTP listener. */
export interface AdminServerOptions {
  host: string;
  port: number;
  logger?: Logger;
  /** Largest request body accepted (default 10 MiB); larger bodies get 413. */
  maxBodyBytes?: number;
  /** Open connections beyond this are closed at once (default: the config default). */
  maxConnections?: number;
  /** Time a client has to send the headers (default: the config default). */
  headersTimeoutMs?: number;
  /** Time a client has to send a whole request (default: the config default); 408 beyond. */
  requestTimeoutMs?: number;
  /** When given, every request except `/health` must carry one of these tokens. */
  auth?: BearerTokens | undefined;
}

/**
 * Admin paths that stay open when auth is on: `/health`, so load balancers can probe it, and
 * the web UI's page and script (`/ui`, `/ui/…`), which hold no data: every API call they make
 * carries the token the user enters.
 */
const OPEN_PATH = /^\/(health|ui(\/[^/]*)?)$/;

const UNAUTHORIZED_BODY = JSON.stringify({
  code: 401,
  message: 'unauthorized: the admin API needs a valid bearer token (Authorization: Bearer <token>)',
});

/** A running admin listener. */
export interface AdminServer {
  /** Base URL, e.g. `http://127.0.0.1:9070`. */
  url: string;
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY = 10 * 1024 * 1024;

function readBody(req: IncomingMessage, res: ServerResponse, limit: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      reject(new AdminError(AdminErrorCode.BodyTooLarge, 413, `Request body larger than ${limit} bytes`));
      return;
    }
    acceptUpload(req, res);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new AdminError(AdminErrorCode.BodyTooLarge, 413, `Request body larger than ${limit} bytes`));
        req.pause();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    // A client gone mid-body: settle, so nothing waits on it forever (the answer goes nowhere).
    req.on('close', () => {
      if (!req.complete) reject(new AdminError(AdminErrorCode.InvalidBody, 400, 'the client closed the connection mid-body'));
    });
  });
}

function toRequest(req: IncomingMessage, body: Uint8Array): AdminRequest {
  const url = new URL(req.url ?? '/', 'http://admin');
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers, body };
}

function send(res: ServerResponse, r: AdminResponse): void {
  const body = typeof r.body === 'string' ? Buffer.from(r.body) : r.body;
  res.writeHead(r.status, { ...r.headers, 'content-length': String(body.byteLength) });
  res.end(body);
}

function authorized(auth: BearerTokens, req: IncomingMessage): boolean {
  if (auth.check(req.headers.authorization)) return true;
  try {
    return OPEN_PATH.test(new URL(req.url ?? '/', 'http://admin').pathname);
  } catch {
    return false;
  }
}

/** Serves an admin handler over HTTP/1.1 (node:http); a thin adapter with no logic of its own. */
export function startAdminServer(handler: AdminHandler, opts: AdminServerOptions): Promise<AdminServer> {
  const limit = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const logger = opts.logger ?? pino({ level: 'silent' });
  const limited = new LogLimiter(logger);
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    if (opts.auth !== undefined && !authorized(opts.auth, req)) {
      // Answered before the body is read: an unauthenticated client does not get to upload.
      send(res, {
        status: 401,
        headers: { 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="endure-admin"', connection: 'close' },
        body: UNAUTHORIZED_BODY,
      });
      return;
    }
    readBody(req, res, limit)
      .then((body) => handler(toRequest(req, body)))
      .then(
        (r) => send(res, r),
        (err: unknown) => {
          const r = errorResponse(err);
          if (r.status === 413) r.headers.connection = 'close';
          send(res, r);
        },
      )
      .catch((err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        limited.log('error', message, { err }, 'admin response failed');
        res.destroy();
      });
  };
  // HTTP/1.1 only, so every request is an IncomingMessage.
  return listenHttp(onRequest as (req: unknown, res: unknown) => void, {
    host: opts.host,
    port: opts.port,
    name: 'admin API',
    logger,
    maxConnections: opts.maxConnections ?? DEFAULT_CONFIG.http.adminMaxConnections,
    headersTimeoutMs: opts.headersTimeoutMs ?? DEFAULT_CONFIG.http.headersTimeoutMs,
    requestTimeoutMs: opts.requestTimeoutMs ?? DEFAULT_CONFIG.http.requestTimeoutMs,
    http2: false,
  });
}
