import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { TransportError } from './errors.ts';
import { FrameDecoder, type Frame } from './framing.ts';
import { contentTypeFor } from './version.ts';

/** How to reach one handler of a deployment. */
export interface InvocationStreamOptions {
  /** Deployment base URL, possibly with a path prefix. */
  readonly url: string;
  readonly service: string;
  readonly handler: string;
  readonly protocolVersion: number;
  readonly mode: 'bidi' | 'request-response';
  readonly useHttp11?: boolean;
  readonly headers?: Readonly<Record<string, string>>;
}

/** One invocation attempt's message stream with an SDK. */
export interface InvocationStream {
  /** Bidi: sent now. Request/response: buffered until `endInput`. */
  write(frame: Uint8Array): void;
  /** Ends our side of the stream. */
  endInput(): void;
  /** Messages from the SDK until it closes; throws TransportError on HTTP failures. */
  frames(): AsyncIterable<Frame>;
  /** Tears the stream down. */
  abort(reason?: string): void;
}

const sessions = new Map<string, ClientHttp2Session>();
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

/**
 * One HTTP/2 session per deployment origin, multiplexing every invocation stream: opening a
 * TCP connection per attempt would dominate latency. A session that closes or fails is dropped
 * and the next request reconnects.
 */
function sessionFor(origin: string): ClientHttp2Session {
  const existing = sessions.get(origin);
  if (existing && !existing.closed && !existing.destroyed) return existing;
  const session = connect(origin, { peerMaxConcurrentStreams: 10_000 });
  session.setMaxListeners(0);
  const drop = () => {
    if (sessions.get(origin) === session) sessions.delete(origin);
  };
  session.on('close', drop);
  session.on('error', drop);
  session.on('goaway', drop);
  session.unref();
  sessions.set(origin, session);
  return session;
}

/** Closes every pooled connection (at shutdown). */
export function closeAllSessions(): void {
  for (const s of sessions.values()) s.close();
  sessions.clear();
  agent.destroy();
}

function invokeUrl(base: string, service: string, handler: string): URL {
  const url = new URL(base);
  const prefix = url.pathname.replace(/\/+$/, '');
  url.pathname = `${prefix}/invoke/${encodeURIComponent(service)}/${encodeURIComponent(handler)}`;
  return url;
}

/** Opens an invocation stream over HTTP/2 (bidi or request/response) or HTTP/1.1 (request/response). */
export function openInvocationStream(opts: InvocationStreamOptions): InvocationStream {
  const url = invokeUrl(opts.url, opts.service, opts.handler);
  const contentType = contentTypeFor(opts.protocolVersion);
  const headers = { ...(opts.headers ?? {}), 'content-type': contentType, accept: contentType };
  if (opts.useHttp11) return new Http1Stream(url, headers);
  return new Http2Stream(url, headers, opts.mode === 'request-response');
}

abstract class BaseStream implements InvocationStream {
  protected buffered: Uint8Array[] | undefined;
  protected ended = false;

  constructor(requestResponse: boolean) {
    this.buffered = requestResponse ? [] : undefined;
  }

  abstract write(frame: Uint8Array): void;
  abstract endInput(): void;
  abstract abort(reason?: string): void;
  protected abstract response(): Promise<AsyncIterable<Uint8Array>>;

  async *frames(): AsyncIterable<Frame> {
    const body = await this.response();
    const decoder = new FrameDecoder();
    try {
      for await (const chunk of body) {
        for (const frame of decoder.push(chunk)) yield frame;
      }
    } catch (err) {
      throw err instanceof TransportError ? err : new TransportError(`stream failed: ${(err as Error).message}`, undefined, { cause: err });
    }
  }
}

class Http2Stream extends BaseStream {
  readonly #req: ClientHttp2Stream;
  readonly #response: Promise<AsyncIterable<Uint8Array>>;

  constructor(url: URL, headers: Record<string, string>, requestResponse: boolean) {
    super(requestResponse);
    const session = sessionFor(url.origin);
    this.#req = session.request(
      { ':method': 'POST', ':path': url.pathname + url.search, ...headers },
      { endStream: false },
    );
    const req = this.#req;
    this.#response = new Promise((resolve, reject) => {
      req.once('response', (h) => {
        const status = Number(h[':status']);
        if (status !== 200) {
          readText(req).then(
            (text) => reject(new TransportError(`deployment answered ${status}: ${text.slice(0, 500)}`, status)),
            () => reject(new TransportError(`deployment answered ${status}`, status)),
          );
          return;
        }
        resolve(req);
      });
      req.once('error', (err) => reject(new TransportError(`cannot reach the deployment: ${err.message}`, undefined, { cause: err })));
      req.once('close', () => reject(new TransportError('the stream closed before a response')));
    });
    this.#response.catch(() => undefined);
  }

  write(frame: Uint8Array): void {
    if (this.ended) return;
    if (this.buffered) this.buffered.push(frame);
    else this.#req.write(frame);
  }

  endInput(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.buffered) {
      this.#req.end(Buffer.concat(this.buffered));
      this.buffered = [];
    } else this.#req.end();
  }

  abort(): void {
    this.ended = true;
    if (!this.#req.closed) this.#req.close(constants.NGHTTP2_CANCEL);
  }

  protected response(): Promise<AsyncIterable<Uint8Array>> {
    return this.#response;
  }
}

class Http1Stream extends BaseStream {
  #res: Promise<IncomingMessage>;
  #resolve!: (r: IncomingMessage) => void;
  #reject!: (e: unknown) => void;
  #req: ReturnType<typeof httpRequest> | undefined;

  constructor(
    private readonly url: URL,
    private readonly headers: Record<string, string>,
  ) {
    super(true);
    this.#res = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#res.catch(() => undefined);
  }

  write(frame: Uint8Array): void {
    if (!this.ended) this.buffered?.push(frame);
  }

  endInput(): void {
    if (this.ended) return;
    this.ended = true;
    const body = Buffer.concat(this.buffered ?? []);
    this.buffered = [];
    const req = httpRequest(this.url, {
      method: 'POST',
      agent,
      headers: { ...this.headers, 'content-length': body.length },
    });
    this.#req = req;
    req.once('response', (res) => {
      if (res.statusCode !== 200) {
        readText(res).then(
          (text) => this.#reject(new TransportError(`deployment answered ${res.statusCode}: ${text.slice(0, 500)}`, res.statusCode)),
          () => this.#reject(new TransportError(`deployment answered ${res.statusCode}`, res.statusCode)),
        );
        return;
      }
      this.#resolve(res);
    });
    req.once('error', (err) => this.#reject(new TransportError(`cannot reach the deployment: ${err.message}`, undefined, { cause: err })));
    req.end(body);
  }

  abort(): void {
    this.ended = true;
    this.#req?.destroy();
    this.#reject(new TransportError('aborted'));
  }

  protected async response(): Promise<AsyncIterable<Uint8Array>> {
    // Request/response: nothing is sent before our input ends.
    if (!this.ended) this.endInput();
    return this.#res;
  }
}

async function readText(stream: AsyncIterable<unknown>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks).toString('utf8');
}
