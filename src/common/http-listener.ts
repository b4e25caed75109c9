import { createServer as createHttp1Server, type IncomingMessage, type Server as Http1Server, type ServerResponse } from 'node:http';
import {
  constants as h2constants,
  createServer as createHttp2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { LogLimiter } from './log-limiter.ts';
import type { Logger } from './logger.ts';

/** A request of either HTTP version, as node's compatibility API hands it over. */
export type AnyRequest = IncomingMessage | Http2ServerRequest;
/** A response of either HTTP version. */
export type AnyResponse = ServerResponse | Http2ServerResponse;

/** Options of {@link listenHttp}. */
export interface HttpListenOptions {
  host: string;
  port: number;
  /** Name in log lines (`ingress`, `admin API`). */
  name: string;
  logger: Logger;
  /** Open connections beyond this are closed as soon as they are accepted. */
  maxConnections: number;
  /** Time a client has to send the request line and headers (and, for HTTP/2, its preface). */
  headersTimeoutMs: number;
  /** Time a client has to send a whole request, headers and body; 408 beyond. */
  requestTimeoutMs: number;
  /** Also speak prior-knowledge HTTP/2 cleartext (h2c) on the same port. */
  http2: boolean;
  /**
   * In a worker process of a node (node:cluster), listen on a socket of this process's own
   * instead of the one the workers share (a worker's private address for node-to-node calls).
   */
  exclusive?: boolean;
}

/** A running listener. */
export interface HttpListener {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Asks a client that sent `Expect: 100-continue` for its body. Listeners do not answer
 * 100 Continue on their own (node would, before the request is even looked at): a handler
 * calls this only once it has decided to read the body, so a request it refuses (no token, a
 * body declared over the limit) gets its final answer without being invited to upload.
 */
export function acceptUpload(req: AnyRequest, res: AnyResponse): void {
  if (/100-continue/i.test(req.headers.expect ?? '') && !res.headersSent) res.writeContinue();
}

/** Idle time after which a kept-alive connection is closed (above common proxies' 60 s). */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/** Concurrent streams one HTTP/2 client may open. */
const MAX_CONCURRENT_STREAMS = 256;
/** What every HTTP/2 connection starts with (RFC 9113 §3.4). */
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const REQUEST_TIMEOUT_BODY = JSON.stringify({ code: 408, message: 'the request was not received in time' });

/**
 * Listens for HTTP on one port with the bounds every public listener needs: a cap on open
 * connections, a deadline for the headers and one for the whole request (a client trickling
 * bytes cannot hold a connection forever), and an idle timeout. With `http2`, a connection
 * that opens with the HTTP/2 preface is served as h2c and any other as HTTP/1.1 — node's
 * `allowHTTP1` does this only with TLS (by ALPN), so the first bytes decide here.
 */
export async function listenHttp(
  onRequest: (req: AnyRequest, res: AnyResponse) => void,
  opts: HttpListenOptions,
): Promise<HttpListener> {
  const h1 = createHttp1Server(
    {
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      headersTimeout: opts.headersTimeoutMs,
      requestTimeout: opts.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, Math.max(100, Math.floor(opts.headersTimeoutMs / 4))),
    },
    onRequest,
  );
  // With a listener, node leaves `Expect: 100-continue` to the handler (see acceptUpload).
  h1.on('checkContinue', onRequest);
  const sessions = new Set<Http2Session>();
  let h2: ((socket: Socket) => void) | undefined;
  if (opts.http2) {
    const onH2Request = (req: Http2ServerRequest, res: Http2ServerResponse): void => {
      enforceReadDeadline(req, res, opts.requestTimeoutMs);
      onRequest(req, res);
    };
    const h2Server = createHttp2Server({ settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS } }, onH2Request);
    h2Server.on('checkContinue', onH2Request);
    h2Server.on('session', (session: Http2Session) => {
      sessions.add(session);
      session.once('close', () => sessions.delete(session));
      // Idle sessions are closed like kept-alive HTTP/1.1 connections. Not with the server's
      // setTimeout: that also destroys a session whose only stream waits quietly for a long
      // invocation's result.
      // The timer fires once per quiet period, so it is armed again when the last stream ends.
      let open = 0;
      session.on('stream', (stream: ServerHttp2Stream) => {
        open++;
        stream.once('close', () => {
          if (--open === 0 && !session.closed && !session.destroyed) session.setTimeout(KEEP_ALIVE_TIMEOUT_MS);
        });
      });
      session.on('timeout', () => {
        if (open === 0) session.close();
      });
      session.setTimeout(KEEP_ALIVE_TIMEOUT_MS);
    });
    h2Server.on('sessionError', (err: Error) => opts.logger.debug({ reason: err.message }, `${opts.name}: HTTP/2 session error`));
    h2 = (socket) => h2Server.emit('connection', socket);
  }
  // The HTTP/1.1 server never listens itself: it gets the connections that the first-bytes
  // check hands it (node's own header deadline only starts once a request has begun, so a
  // client that connects and stays silent would otherwise hold its slot until keep-alive).
  // Its headers and request deadlines are enforced by a timer node starts on 'listening'.
  h1.emit('listening');
  const server: NetServer = createNetServer((socket) => dispatchByPreface(socket, h1, h2, opts.headersTimeoutMs));
  server.maxConnections = opts.maxConnections;
  const limited = new LogLimiter(opts.logger);
  server.on('drop', () =>
    limited.log('warn', 'drop', { maxConnections: opts.maxConnections }, `${opts.name}: connection limit reached, closing new connections`),
  );

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: opts.port, host: opts.host, exclusive: opts.exclusive ?? false }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  opts.logger.info({ url, http2: opts.http2, maxConnections: opts.maxConnections }, `${opts.name} listening`);

  let closing: Promise<void> | undefined;
  return {
    url,
    close() {
      closing ??= new Promise<void>((resolve) => {
        limited.flush();
        server.close(() => resolve());
        h1.close(() => undefined);
        h1.closeIdleConnections();
        for (const s of sessions) s.close();
        setTimeout(() => {
          h1.closeAllConnections();
          for (const s of sessions) s.destroy();
        }, 2000).unref();
      });
      return closing;
    },
  };
}

/**
 * Reads the first bytes of a connection: the HTTP/2 preface goes to `h2` (when given), anything
 * else to the HTTP/1.1 server. A client that sends nothing decisive within the headers timeout
 * is dropped.
 */
function dispatchByPreface(socket: Socket, h1: Http1Server, h2: ((socket: Socket) => void) | undefined, timeoutMs: number): void {
  let seen: Buffer = Buffer.alloc(0);
  const ignore = (): void => undefined;
  const deadline = setTimeout(() => socket.destroy(), timeoutMs);
  deadline.unref();
  const onData = (chunk: Buffer): void => {
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, H2_PREFACE.length);
    const isH2 = h2 !== undefined && seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
    if (isH2 && n < H2_PREFACE.length) return;
    clearTimeout(deadline);
    socket.off('data', onData);
    socket.off('error', ignore);
    socket.pause();
    socket.unshift(seen);
    if (isH2) {
      // The HTTP/2 session takes over the buffered bytes itself.
      h2(socket);
    } else {
      h1.emit('connection', socket);
      // node's HTTP/1.1 parser reads new bytes from the socket handle; the bytes read here
      // reach it through the stream, which must flow again.
      socket.resume();
    }
  };
  socket.on('error', ignore);
  socket.once('close', () => clearTimeout(deadline));
  socket.on('data', onData);
}

/**
 * HTTP/2 has no per-request deadline in node: a stream whose body has not fully arrived within
 * `timeoutMs` gets 408 (if nothing was answered yet) and is closed, as HTTP/1.1 requests are.
 */
function enforceReadDeadline(req: Http2ServerRequest, res: Http2ServerResponse, timeoutMs: number): void {
  const timer = setTimeout(() => {
    if (req.complete || req.stream.destroyed) return;
    const close = (): void => {
      if (!req.stream.destroyed) req.stream.close(h2constants.NGHTTP2_NO_ERROR);
    };
    if (res.headersSent) return close();
    res.writeHead(408, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(REQUEST_TIMEOUT_BODY) });
    res.end(REQUEST_TIMEOUT_BODY, close);
  }, timeoutMs);
  timer.unref();
  const clear = (): void => clearTimeout(timer);
  req.once('end', clear);
  req.stream.once('close', clear);
}
