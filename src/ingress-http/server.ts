import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { errorResponse, type IngressRequest, type IngressResponse } from './handler.ts';

/** A running HTTP listener. */
export interface HttpListener {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The node:http adapter around a request → response function: reads the body up to
 * `maxBodyBytes` (413 beyond), passes an AbortSignal that fires when the client goes away, and
 * writes the answer. Nothing in here knows about invocations.
 */
export async function listenHttp(
  handler: (req: IngressRequest) => Promise<IngressResponse>,
  opts: { host: string; port: number; maxBodyBytes: number; logger: Logger; name: string },
): Promise<HttpListener> {
  const server: Server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    void serve(handler, req, res, opts.maxBodyBytes, opts.logger);
  });
  server.headersTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`;
  opts.logger.info({ url }, `${opts.name} listening`);
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      }),
  };
}

async function serve(
  handler: (req: IngressRequest) => Promise<IngressResponse>,
  req: IncomingMessage,
  res: ServerResponse,
  maxBodyBytes: number,
  logger: Logger,
): Promise<void> {
  const abort = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  try {
    const body = await readBody(req, maxBodyBytes);
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
    logger.error({ err }, 'unexpected error while serving a request');
    if (!res.headersSent) write(res, errorResponse(500, 'internal error'), true);
    else res.destroy();
  }
}

function write(res: ServerResponse, r: IngressResponse, close: boolean): void {
  if (res.destroyed) return;
  const body = typeof r.body === 'string' ? Buffer.from(r.body) : r.body;
  const headers: Record<string, string | number> = { ...r.headers, 'content-length': body.length };
  if (close) headers.connection = 'close';
  res.writeHead(r.status, headers);
  res.end(body);
}

function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array | 'too-large'> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? -1);
    if (declared > limit) {
      req.resume();
      resolve('too-large');
      return;
    }
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
    req.on('error', (err) => {
      if (done) return;
      done = true;
      reject(err);
    });
  });
}
