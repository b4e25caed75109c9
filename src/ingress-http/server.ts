import type { Logger } from 'pino';
import type { BearerTokens } from '../common/bearer-tokens.ts';
import { acceptUpload, listenHttp as listen, type AnyRequest, type AnyResponse, type HttpListener } from '../common/http-listener.ts';
import { LogLimiter } from '../common/log-limiter.ts';
import { errorResponse, type IngressRequest, type IngressResponse } from './handler.ts';

export type { HttpListener } from '../common/http-listener.ts';

/** Options of the ingress listener. */
export interface IngressListenOptions {
  host: string;
  port: number;
  maxBodyBytes: number;
  maxConnections: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  logger: Logger;
  name: string;
  /** When given, every request except the health check must carry one of these tokens. */
  auth?: BearerTokens | undefined;
  /** Listen on a socket of this worker process's own, not the one a node's workers share. */
  exclusive?: boolean;
}

/** The ingress path that stays open when auth is on, so load balancers can probe it. */
const HEALTH_PATH = '/restate/health';

/** Raised when the client went away before its request was read: its problem, not ours. */
class ClientGone extends Error {
  constructor() {
    super('the client closed the connection before sending the whole request');
    this.name = 'ClientGone';
  }
}

/**
 * The node:http / node:http2 adapter around a request → response function: reads the body up
 * to `maxBodyBytes` (413 beyond), passes an AbortSignal that fires when the client goes away,
 * and writes the answer. Speaks HTTP/1.1 and prior-knowledge HTTP/2 cleartext on one port.
 * Nothing in here knows about invocations.
 */
export async function listenHttp(
  handler: (req: IngressRequest) => Promise<IngressResponse>,
  opts: IngressListenOptions,
): Promise<HttpListener> {
  const limited = new LogLimiter(opts.logger);
  return listen((req, res) => {
    if (opts.auth !== undefined && !authorized(opts.auth, req)) {
      // Answered before the body is read: an unauthenticated client does not get to upload.
      write(res, unauthorized(), true);
      return;
    }
    void serve(handler, req, res, opts.maxBodyBytes, limited);
  }, {
    host: opts.host,
    port: opts.port,
    name: opts.name,
    logger: opts.logger,
    maxConnections: opts.maxConnections,
    headersTimeoutMs: opts.headersTimeoutMs,
    requestTimeoutMs: opts.requestTimeoutMs,
    http2: true,
    exclusive: opts.exclusive ?? false,
  });
}

async function serve(
  handler: (req: IngressRequest) => Promise<IngressResponse>,
  req: AnyRequest,
  res: AnyResponse,
  maxBodyBytes: number,
  limited: LogLimiter,
): Promise<void> {
  const abort = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  try {
    const body = await readBody(req, res, maxBodyBytes);
    if (body === 'too-large') {
      write(res, errorResponse(413, `cannot read body: the body exceeds the limit of ${maxBodyBytes} bytes`), true);
      return;
    }
    const response = await handler({
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      body,
      signal: abort.signal,
    });
    write(res, response, false);
  } catch (err) {
    if (err instanceof ClientGone || abort.signal.aborted) {
      limited.log('debug', 'client-gone', { method: req.method }, 'client went away before its request was answered');
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    limited.log('error', `serve:${message}`, { err }, 'unexpected error while serving a request');
    if (!res.headersSent) write(res, errorResponse(500, 'internal error'), true);
    else destroy(res);
  }
}

function authorized(auth: BearerTokens, req: AnyRequest): boolean {
  if (auth.check(req.headers.authorization)) return true;
  try {
    return new URL(req.url ?? '/', 'http://ingress').pathname === HEALTH_PATH;
  } catch {
    return false;
  }
}

function unauthorized(): IngressResponse {
  const r = errorResponse(401, 'unauthorized: this ingress needs a valid bearer token (Authorization: Bearer <token>)');
  return { ...r, headers: { ...r.headers, 'www-authenticate': 'Bearer realm="endure-ingress"' } };
}

function write(res: AnyResponse, r: IngressResponse, close: boolean): void {
  if (res.writableEnded || res.destroyed) return;
  const body = typeof r.body === 'string' ? Buffer.from(r.body) : r.body;
  const headers: Record<string, string | number> = { ...r.headers, 'content-length': body.length };
  // `connection` is an HTTP/1.1 header; HTTP/2 forbids it.
  if (close && res.req.httpVersionMajor < 2) headers.connection = 'close';
  res.writeHead(r.status, headers);
  res.end(body);
}

function destroy(res: AnyResponse): void {
  if ('stream' in res) res.stream.destroy();
  else res.destroy();
}

function readBody(req: AnyRequest, res: AnyResponse, limit: number): Promise<Uint8Array | 'too-large'> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? -1);
    if (declared > limit) {
      req.resume();
      resolve('too-large');
      return;
    }
    acceptUpload(req, res);
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        resolve('too-large');
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    });
    // A client that disconnects mid-body surfaces as 'error' (aborted) or as a bare 'close'.
    const gone = (): void => {
      if (done) return;
      done = true;
      reject(new ClientGone());
    };
    req.on('error', gone);
    req.on('close', gone);
  });
}
