import { Agent, request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { connect as netConnect } from 'node:net';
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { ProtocolError, TransportError, TransportErrorCode } from './errors.ts';
import { FrameDecoder, MAX_FRAME_BYTES, type Frame } from './framing.ts';
import { identityHeaders, type RequestIdentity } from './identity.ts';
import { contentTypeFor, versionOfContentType } from './version.ts';

/** How to reach one handler of a deployment. */
export interface InvocationStreamOptions {
  /** Deployment base URL, possibly with a path prefix, e.g. `http://127.0.0.1:9080`. */
  readonly url: string;
  readonly service: string;
  readonly handler: string;
  readonly protocolVersion: number;
  /** `bidi`: frames flow both ways at once; `request-response`: our whole input, then theirs. */
  readonly mode: 'bidi' | 'request-response';
  /** HTTP/1.1 instead of HTTP/2 prior knowledge (request-response only). */
  readonly useHttp11?: boolean;
  /** Extra request headers (a deployment's additional headers). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Aborting it tears the stream down, like `abort()`. */
  readonly signal?: AbortSignal;
  /** Signs the request (Restate's request identity); without it the request says `unsigned`. */
  readonly identity?: RequestIdentity | undefined;
  /** Bytes of partial frames held while they arrive are drawn from it (shared by all streams). */
  readonly budget?: ByteBudget;
}

/** An allowance of bytes shared by many streams; the invoker owns the node's. */
export interface ByteBudget {
  /** The allowance in bytes. */
  readonly limit: number;
  /** Bytes reserved now. */
  readonly used: number;
  /** Takes n bytes if they fit and returns true; takes nothing and returns false if not. */
  tryReserve(n: number): boolean;
  /** Gives n reserved bytes back. */
  release(n: number): void;
}

/** One invocation attempt's message stream with an SDK. */
export interface InvocationStream {
  /** Bidi: sent now. Request/response: buffered until `endInput`. Ignored after `endInput`. */
  write(frame: Uint8Array): void;
  /** Ends our side of the stream (request/response: sends the buffered request). */
  endInput(): void;
  /** Frames from the SDK until its response ends; throws TransportError on HTTP failures. */
  frames(): AsyncIterable<Frame>;
  /** Tears the stream down; a pending or later `frames()` throws TransportError(Aborted). */
  abort(reason?: string): void;
}

// ---- connection pools ----

const sessions = new Map<string, ClientHttp2Session>();
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

/**
 * Node refuses new streams on a session (RST_STREAM with ENHANCE_YOUR_CALM) while the data it
 * holds for it passes `maxSessionMemory`, 10 MB by default: less than one request body the
 * ingress accepts, so a single large invocation used to lock every other invocation of the
 * deployment out. The session gets room for two of the largest frames Endure exchanges (in MB,
 * Node's unit); should it still run out, it is dropped like any failed session.
 */
const SESSION_MEMORY_MB = Math.ceil((2 * (MAX_FRAME_BYTES + 1024 * 1024)) / 1_000_000);

/**
 * One HTTP/2 session per deployment origin, multiplexing every invocation stream: a TCP
 * connection per attempt would dominate latency. A session that closes or receives GOAWAY
 * leaves the pool, and the next request connects anew; streams already open on it finish (or
 * fail) on their own. A session-level failure (an error, a connection-level protocol error, a
 * stream refused for lack of session memory) is fatal to the session: it is destroyed, the
 * attempts on it fail and are retried on a new one. Sessions are unref'd: they never keep the
 * process alive.
 */
function sessionFor(origin: string): ClientHttp2Session {
  const existing = sessions.get(origin);
  if (existing && !existing.closed && !existing.destroyed) return existing;
  const { hostname, port } = new URL(origin);
  const session = connect(origin, {
    peerMaxConcurrentStreams: 10_000,
    maxSessionMemory: SESSION_MEMORY_MB,
    // Invocation streams exchange small frames back and forth: never let Nagle hold one back.
    createConnection: () => netConnect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port || 80), noDelay: true }),
  });
  session.setMaxListeners(0);
  const drop = () => {
    if (sessions.get(origin) === session) sessions.delete(origin);
  };
  session.on('close', drop);
  session.on('error', () => dropSession(origin, session)); // the streams on it get the error too
  session.on('frameError', (_type: number, _code: number, streamId: number) => {
    if (streamId === 0) dropSession(origin, session);
  });
  session.on('goaway', drop);
  session.unref();
  sessions.set(origin, session);
  return session;
}

/** Takes a failed session out of the pool and destroys it, with every stream still on it. */
function dropSession(origin: string, session: ClientHttp2Session): void {
  if (sessions.get(origin) === session) sessions.delete(origin);
  if (!session.destroyed) session.destroy();
}

/** Closes every pooled connection (at shutdown). Later streams open new ones. */
export function closeAllSessions(): void {
  for (const s of sessions.values()) s.close();
  sessions.clear();
  agent.destroy();
}

// ---- opening a stream ----

/** `${base}/invoke/${service}/${handler}`, keeping any path prefix of the base URL. */
export function invokeUrl(base: string, service: string, handler: string): URL {
  let url: URL;
  try {
    url = new URL(base);
  } catch (err) {
    throw new TransportError(TransportErrorCode.Unreachable, `'${base}' is not a valid deployment URL`, { cause: err });
  }
  const prefix = url.pathname.replace(/\/+$/, '');
  url.pathname = `${prefix}/invoke/${encodeURIComponent(service)}/${encodeURIComponent(handler)}`;
  return url;
}

/**
 * Opens an invocation stream: HTTP/2 cleartext with prior knowledge (bidi or request/response),
 * or HTTP/1.1 request/response when `useHttp11` is set.
 */
export function openInvocationStream(opts: InvocationStreamOptions): InvocationStream {
  const url = invokeUrl(opts.url, opts.service, opts.handler);
  const contentType = contentTypeFor(opts.protocolVersion);
  const headers = { ...(opts.headers ?? {}), ...identityHeaders(opts.identity, url.pathname), 'content-type': contentType, accept: contentType };
  const requestResponse = opts.mode === 'request-response' || opts.useHttp11 === true;
  const stream = opts.useHttp11
    ? new Http1Stream(url, headers, opts.protocolVersion)
    : new Http2Stream(url, headers, opts.protocolVersion, requestResponse);
  stream.budget = opts.budget;
  const signal = opts.signal;
  if (signal) {
    if (signal.aborted) stream.abort(abortReason(signal));
    else {
      const onAbort = () => stream.abort(abortReason(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      stream.onSettled = () => signal.removeEventListener('abort', onAbort);
    }
  }
  return stream;
}

function abortReason(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  return r instanceof Error ? r.message : typeof r === 'string' ? r : 'aborted';
}

// ---- shared behaviour ----

/**
 * What both transports share: the response is checked (status 200, the protocol's content
 * type) once, then its body is cut into frames. `failure` is the first error seen; once set,
 * the stream is dead and every later read throws it.
 */
abstract class BaseStream implements InvocationStream {
  /** Called once when the stream is done either way (used to detach the abort signal). */
  onSettled: (() => void) | undefined;
  /** Where the bytes of frames still arriving are reserved; unbounded without one. */
  budget: ByteBudget | undefined;
  protected inputEnded = false;
  protected failure: TransportError | undefined;
  readonly #response: Promise<AsyncIterable<Uint8Array>>;
  #resolve!: (body: AsyncIterable<Uint8Array>) => void;
  #reject!: (err: TransportError) => void;
  #consumed = false;

  constructor(
    protected readonly url: URL,
    private readonly version: number,
  ) {
    this.#response = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#response.catch(() => undefined); // read through frames(); never unhandled
  }

  abstract write(frame: Uint8Array): void;
  abstract endInput(): void;
  protected abstract teardown(): void;
  /** Called before the response is awaited (request/response over HTTP/1.1 sends here). */
  protected beforeRead(): void {}

  abort(reason = 'aborted'): void {
    this.inputEnded = true;
    this.fail(new TransportError(TransportErrorCode.Aborted, `invocation stream aborted: ${reason}`));
    this.teardown();
    this.settle();
  }

  frames(): AsyncIterable<Frame> {
    if (this.#consumed) throw new Error('frames() of an invocation stream can be read only once');
    this.#consumed = true;
    return this.#read();
  }

  async *#read(): AsyncGenerator<Frame> {
    this.beforeRead();
    try {
      const body = await this.#response;
      const decoder = new FrameDecoder();
      const budget = this.budget;
      // Bytes reserved for what the decoder holds: a chunk is reserved as it arrives and
      // released once it has left as whole frames.
      let held = 0;
      try {
        for await (const chunk of body) {
          if (budget && !budget.tryReserve(chunk.length)) {
            this.fail(
              new TransportError(
                TransportErrorCode.MemoryLimit,
                `the invocation memory limit of ${budget.limit} bytes is used up (${budget.used} held by invocation streams): ` +
                  `this stream holds ${held} bytes of an incomplete message and received ${chunk.length} more`,
              ),
            );
            this.teardown();
            throw this.failure;
          }
          held += chunk.length;
          const frames = decoder.push(chunk);
          budget?.release(held - decoder.pending);
          held = decoder.pending;
          for (const frame of frames) yield frame;
        }
      } catch (err) {
        if (this.failure) throw this.failure;
        if (err instanceof TransportError) throw err;
        if (err instanceof ProtocolError) throw err;
        throw new TransportError(TransportErrorCode.StreamFailed, `the response broke off: ${errorText(err)}`, { cause: err });
      } finally {
        budget?.release(held);
        held = 0;
      }
      if (this.failure) throw this.failure;
      if (decoder.pending > 0) {
        throw new TransportError(TransportErrorCode.StreamFailed, `the response ended inside a frame (${decoder.pending} bytes left)`);
      }
    } finally {
      this.settle();
    }
  }

  /** Records the first failure; rejects the response if it has not come yet. */
  protected fail(err: TransportError): void {
    if (this.failure) return;
    this.failure = err;
    this.#reject(err);
  }

  /** Accepts or refuses the response head; refused responses have their body read for the message. */
  protected onResponseHead(status: number, contentType: string, body: AsyncIterable<unknown>): void {
    if (this.failure) return;
    if (status !== 200) {
      readText(body).then(
        (text) => this.fail(statusError(status, text)),
        () => this.fail(statusError(status, '')),
      );
      return;
    }
    const version = versionOfContentType(contentType);
    if (version !== this.version) {
      this.fail(
        new TransportError(
          TransportErrorCode.BadContentType,
          `the deployment answered with content-type '${contentType}', expected '${contentTypeFor(this.version)}'`,
          { status },
        ),
      );
      this.teardown();
      return;
    }
    this.#resolve(body as AsyncIterable<Uint8Array>);
  }

  protected settle(): void {
    const cb = this.onSettled;
    this.onSettled = undefined;
    cb?.();
  }
}

function statusError(status: number, text: string): TransportError {
  const detail = text.trim() ? `: ${text.trim().slice(0, 500)}` : '';
  return new TransportError(TransportErrorCode.BadStatus, `the deployment answered ${status}${detail}`, { status });
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function headerText(v: string | string[] | number | undefined): string {
  return Array.isArray(v) ? (v[0] ?? '') : v === undefined ? '' : String(v);
}

// ---- HTTP/2 ----

/** A stream on the origin's pooled session. Bidi writes go straight to the socket. */
class Http2Stream extends BaseStream {
  readonly #req: ClientHttp2Stream | undefined;
  #buffered: Uint8Array[] | undefined;
  #corked = false;

  constructor(url: URL, headers: Record<string, string>, version: number, requestResponse: boolean) {
    super(url, version);
    this.#buffered = requestResponse ? [] : undefined;
    let req: ClientHttp2Stream;
    let session: ClientHttp2Session;
    try {
      session = sessionFor(url.origin);
      req = session.request({ ':method': 'POST', ':path': url.pathname + url.search, ...headers }, { endStream: false });
    } catch (err) {
      // The session is already unusable (e.g. destroyed in the same tick): report, don't throw.
      sessions.delete(url.origin);
      this.#req = undefined;
      this.fail(new TransportError(TransportErrorCode.Unreachable, `cannot open a stream to ${url.origin}: ${errorText(err)}`, { cause: err }));
      return;
    }
    this.#req = req;
    let responded = false;
    req.once('response', (h) => {
      responded = true;
      this.onResponseHead(Number(h[':status']), headerText(h['content-type']), req);
    });
    // A stream refused for lack of session memory says the whole session is spent.
    const exhausted = () => {
      if (req.rstCode !== constants.NGHTTP2_ENHANCE_YOUR_CALM) return false;
      dropSession(url.origin, session);
      this.fail(
        new TransportError(
          TransportErrorCode.Unreachable,
          `the HTTP/2 session to ${url.origin} ran out of memory (stream reset with ENHANCE_YOUR_CALM); it is closed and the next attempt opens a new one`,
        ),
      );
      return true;
    };
    req.on('error', (err) => {
      if (exhausted()) return;
      const code = responded ? TransportErrorCode.StreamFailed : TransportErrorCode.Unreachable;
      const what = responded ? 'the response broke off' : `cannot reach ${url.origin}`;
      this.fail(new TransportError(code, `${what}: ${errorText(err)}`, { cause: err }));
    });
    req.once('close', () => {
      if (exhausted()) return;
      if (!responded) {
        this.fail(new TransportError(TransportErrorCode.Unreachable, `the stream to ${url.origin} closed before a response (code ${req.rstCode ?? 0})`));
      }
    });
  }

  write(frame: Uint8Array): void {
    if (this.inputEnded) return;
    if (this.#buffered) this.#buffered.push(frame);
    else {
      const req = this.#req;
      if (!req || req.destroyed || req.writableEnded) return;
      // Frames written in one tick (a replayed journal) leave together, in one writev.
      if (!this.#corked) {
        this.#corked = true;
        req.cork();
        process.nextTick(() => {
          this.#corked = false;
          req.uncork();
        });
      }
      req.write(frame);
    }
  }

  endInput(): void {
    if (this.inputEnded) return;
    this.inputEnded = true;
    const req = this.#req;
    if (!req || req.destroyed || req.writableEnded) return;
    if (this.#buffered) {
      const body = this.#buffered.length === 1 ? (this.#buffered[0] as Uint8Array) : Buffer.concat(this.#buffered);
      this.#buffered = undefined;
      req.end(body);
    } else req.end();
  }

  protected teardown(): void {
    this.#buffered = undefined;
    const req = this.#req;
    if (req && !req.closed && !req.destroyed) req.close(constants.NGHTTP2_CANCEL);
  }
}

// ---- HTTP/1.1 ----

/** Request/response over a keep-alive HTTP/1.1 connection: the request goes out at `endInput`. */
class Http1Stream extends BaseStream {
  #buffered: Uint8Array[] = [];
  #req: ClientRequest | undefined;
  #res: IncomingMessage | undefined;

  constructor(
    url: URL,
    private readonly headers: Record<string, string>,
    version: number,
  ) {
    super(url, version);
  }

  write(frame: Uint8Array): void {
    if (!this.inputEnded) this.#buffered.push(frame);
  }

  endInput(): void {
    if (this.inputEnded) return;
    this.inputEnded = true;
    const body = Buffer.concat(this.#buffered);
    this.#buffered = [];
    const req = httpRequest(this.url, {
      method: 'POST',
      agent,
      headers: { ...this.headers, 'content-length': String(body.length) },
    });
    this.#req = req;
    req.once('response', (res) => {
      this.#res = res;
      res.on('error', (err) =>
        this.fail(new TransportError(TransportErrorCode.StreamFailed, `the response broke off: ${errorText(err)}`, { cause: err })),
      );
      this.onResponseHead(res.statusCode ?? 0, headerText((res.headers as IncomingHttpHeaders)['content-type']), res);
    });
    req.on('error', (err) => {
      const code = this.#res ? TransportErrorCode.StreamFailed : TransportErrorCode.Unreachable;
      this.fail(new TransportError(code, `cannot reach ${this.url.origin}: ${errorText(err)}`, { cause: err }));
    });
    req.end(body);
  }

  protected override beforeRead(): void {
    // Nothing is sent before our input ends; reading the answer implies we are done writing.
    if (!this.inputEnded) this.endInput();
  }

  protected teardown(): void {
    this.#buffered = [];
    this.#res?.destroy();
    this.#req?.destroy();
  }
}

async function readText(stream: AsyncIterable<unknown>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks).toString('utf8');
}
