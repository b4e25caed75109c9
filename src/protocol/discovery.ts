import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect } from 'node:http2';
import { z } from 'zod';
import { DiscoveryError, DiscoveryErrorCode } from './errors.ts';
import { safeExcerpt } from './excerpt.ts';
import { identityHeaders, type RequestIdentity } from './identity.ts';
import { MAX_PROTOCOL_VERSION, MIN_PROTOCOL_VERSION } from './version.ts';

/** Manifest versions we read, best first (the SDK picks the first it knows). */
const ACCEPT = [4, 3, 2].map((v) => `application/vnd.restate.endpointmanifest.v${v}+json`).join(', ');

/** Durations in the manifest are integer milliseconds. */
const durationMs = z.number().nonnegative().optional();

const handlerOptions = {
  documentation: z.string().optional(),
  metadata: z.record(z.string()).optional(),
  inactivityTimeout: durationMs,
  abortTimeout: durationMs,
  journalRetention: durationMs,
  idempotencyRetention: durationMs,
  enableLazyState: z.boolean().optional(),
  ingressPrivate: z.boolean().optional(),
  retryPolicyInitialInterval: durationMs,
  retryPolicyMaxInterval: durationMs,
  retryPolicyMaxAttempts: z.number().int().nonnegative().optional(),
  retryPolicyExponentiationFactor: z.number().positive().optional(),
  retryPolicyOnMaxAttempts: z.enum(['PAUSE', 'KILL']).optional(),
};

const handlerSchema = z
  .object({
    name: z.string().min(1),
    ty: z.enum(['EXCLUSIVE', 'SHARED', 'WORKFLOW']).optional(),
    input: z
      .object({ required: z.boolean().optional(), contentType: z.string().optional(), jsonSchema: z.unknown().optional() })
      .passthrough()
      .optional(),
    output: z
      .object({ setContentTypeIfEmpty: z.boolean().optional(), contentType: z.string().optional(), jsonSchema: z.unknown().optional() })
      .passthrough()
      .optional(),
    workflowCompletionRetention: durationMs,
    ...handlerOptions,
  })
  .passthrough();

const serviceSchema = z
  .object({
    name: z.string().min(1),
    ty: z.enum(['SERVICE', 'VIRTUAL_OBJECT', 'WORKFLOW']),
    handlers: z.array(handlerSchema),
    ...handlerOptions,
  })
  .passthrough();

const manifestSchema = z
  .object({
    protocolMode: z.enum(['BIDI_STREAM', 'REQUEST_RESPONSE']).optional(),
    minProtocolVersion: z.number().int(),
    maxProtocolVersion: z.number().int(),
    services: z.array(serviceSchema),
  })
  .passthrough();

/** A handler as an endpoint describes it. */
export type HandlerManifest = z.infer<typeof handlerSchema>;
/** A service as an endpoint describes it. */
export type ServiceManifest = z.infer<typeof serviceSchema>;
/** What `GET /discover` returns, validated. */
export type EndpointManifest = z.infer<typeof manifestSchema> & {
  protocolMode: 'BIDI_STREAM' | 'REQUEST_RESPONSE';
};

/** Options of a discovery request. */
export interface DiscoverOptions {
  /** Use HTTP/1.1 instead of HTTP/2 with prior knowledge. */
  readonly useHttp11?: boolean;
  /** Extra request headers (a deployment's additional headers). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Deadline of the whole discovery, every connection attempt included; 10 s by default. */
  readonly timeoutMs?: number;
  /** Signs the request (Restate's request identity); without it the request says `unsigned`. */
  readonly identity?: RequestIdentity | undefined;
}

/**
 * The largest discovery answer read. A manifest with hundreds of handlers and their JSON
 * schemas is well under a MiB; an answer past this bound is not a manifest, and reading it
 * whole would let one endpoint exhaust the server's memory.
 */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** How much of a refused answer (status other than 200) is read, for the error's excerpt. */
const MAX_ERROR_BODY_BYTES = 8 * 1024;
const DEFAULT_TIMEOUT_MS = 10_000;

interface RawResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** One deadline for a whole discovery: every attempt gets only what is left of it. */
class Deadline {
  readonly #at: number;

  constructor(
    private readonly origin: string,
    private readonly timeoutMs: number,
  ) {
    this.#at = Date.now() + timeoutMs;
  }

  get remainingMs(): number {
    return Math.max(0, this.#at - Date.now());
  }

  /** Calls `onExpiry` with the timeout error when the deadline passes (at once if it has). */
  arm(onExpiry: (err: DiscoveryError) => void): NodeJS.Timeout {
    return setTimeout(() => onExpiry(this.error()), this.remainingMs);
  }

  error(): DiscoveryError {
    return new DiscoveryError(
      DiscoveryErrorCode.Timeout,
      `${this.origin} did not answer within ${this.timeoutMs} ms, the deadline of a discovery`,
    );
  }
}

/**
 * Collects a response body up to a bound. A 200 answer past `MAX_MANIFEST_BYTES` is refused as
 * too large; of any other answer only the head is kept, for the error message.
 */
class BoundedBody {
  readonly #chunks: Buffer[] = [];
  #size = 0;
  readonly #limit: number;

  constructor(readonly status: number) {
    this.#limit = status === 200 ? MAX_MANIFEST_BYTES : MAX_ERROR_BODY_BYTES;
  }

  /** Refuses a 200 answer whose announced length is already past the bound. */
  checkDeclared(contentLength: string | string[] | undefined): DiscoveryError | undefined {
    const declared = Number(Array.isArray(contentLength) ? contentLength[0] : contentLength);
    if (this.status !== 200 || !Number.isFinite(declared) || declared <= MAX_MANIFEST_BYTES) return undefined;
    return new DiscoveryError(
      DiscoveryErrorCode.ManifestTooLarge,
      `the endpoint announced ${declared} bytes of discovery answer, more than the ${MAX_MANIFEST_BYTES / 1024 / 1024} MiB a manifest may take`,
    );
  }

  /** Adds a chunk: `full` once the bound is passed (the caller stops reading), else `more`. */
  push(chunk: Buffer): 'more' | 'full' {
    const room = this.#limit - this.#size;
    if (chunk.length > room) {
      if (room > 0) this.#chunks.push(chunk.subarray(0, room));
      this.#size = this.#limit;
      return 'full';
    }
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    return 'more';
  }

  /** What a body cut at the bound means: a refused manifest, or just a long error page. */
  cutOff(contentType: string): DiscoveryError | RawResponse {
    if (this.status === 200) {
      return new DiscoveryError(
        DiscoveryErrorCode.ManifestTooLarge,
        `the endpoint's discovery answer is larger than ${MAX_MANIFEST_BYTES / 1024 / 1024} MiB, more than a manifest may take`,
      );
    }
    return this.response(contentType);
  }

  response(contentType: string): RawResponse {
    return { status: this.status, contentType, body: Buffer.concat(this.#chunks).toString('utf8') };
  }
}

/**
 * Asks an SDK endpoint for its manifest (`GET {url}/discover`) and validates it. HTTP/2 with
 * prior knowledge unless `useHttp11`, the same transport invocations will use later. When
 * HTTP/2 fails but the endpoint answers HTTP/1.1, the error says so (Restate's META0014)
 * instead of registering an endpoint that every invocation would then fail to reach.
 *
 * The answer is bounded in size (`MAX_MANIFEST_BYTES`) and the whole discovery in time
 * (`timeoutMs`), so that no endpoint can exhaust the server's memory or hold a registration.
 */
export async function discoverEndpoint(url: string, opts: DiscoverOptions = {}): Promise<EndpointManifest> {
  const target = discoverUrl(url);
  const headers = { ...(opts.headers ?? {}), ...identityHeaders(opts.identity, target.pathname), accept: ACCEPT };
  const deadline = new Deadline(target.origin, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);

  let response: RawResponse;
  if (opts.useHttp11) response = await getHttp1(target, headers, deadline);
  else {
    try {
      response = await getHttp2(target, headers, deadline);
    } catch (err) {
      // Only a failed HTTP/2 exchange hints at an HTTP/1.1 endpoint; an answer that was too
      // large or too slow is the endpoint's own failure.
      if (!(err instanceof DiscoveryError) || err.code !== DiscoveryErrorCode.Unreachable) throw err;
      if (await answersHttp1(target, headers, deadline)) {
        throw new DiscoveryError(
          DiscoveryErrorCode.Http11Only,
          `${target.origin} does not speak HTTP/2 but answers HTTP/1.1; register it with use_http_11`,
          { cause: err },
        );
      }
      throw err;
    }
  }
  return parseManifest(response);
}

function discoverUrl(url: string): URL {
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    throw new DiscoveryError(DiscoveryErrorCode.InvalidUrl, `'${url}' is not a valid URL`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new DiscoveryError(DiscoveryErrorCode.InvalidUrl, `unsupported URL scheme '${base.protocol}'`);
  }
  const target = new URL(base.href);
  target.pathname = `${base.pathname.replace(/\/+$/, '')}/discover`;
  return target;
}

/** Checks status and content type, then validates the manifest against the schema. */
function parseManifest(response: RawResponse): EndpointManifest {
  if (response.status !== 200) {
    // The body may be an internal page full of tokens: the caller gets the gist, never the page.
    const excerpt = safeExcerpt(response.body);
    throw new DiscoveryError(
      DiscoveryErrorCode.BadStatus,
      `the endpoint answered ${response.status} to discovery${excerpt ? `: ${excerpt}` : ''}`,
      { status: response.status },
    );
  }
  if (!/^application\/vnd\.restate\.endpointmanifest\.v\d+\+json\b/i.test(response.contentType.trim())) {
    throw new DiscoveryError(
      DiscoveryErrorCode.BadContentType,
      `unexpected content-type '${safeExcerpt(response.contentType, 80)}' from the discovery endpoint`,
      { status: response.status },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(response.body);
  } catch (err) {
    throw new DiscoveryError(DiscoveryErrorCode.InvalidManifest, 'the endpoint returned a manifest that is not JSON', { cause: err });
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DiscoveryError(
      DiscoveryErrorCode.InvalidManifest,
      `invalid endpoint manifest at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'unknown'}`,
    );
  }
  const m = parsed.data;
  if (m.minProtocolVersion > m.maxProtocolVersion) {
    throw new DiscoveryError(
      DiscoveryErrorCode.InvalidManifest,
      `invalid endpoint manifest: minProtocolVersion ${m.minProtocolVersion} > maxProtocolVersion ${m.maxProtocolVersion}`,
    );
  }
  if (m.maxProtocolVersion < MIN_PROTOCOL_VERSION || m.minProtocolVersion > MAX_PROTOCOL_VERSION) {
    throw new DiscoveryError(
      DiscoveryErrorCode.UnsupportedProtocolVersion,
      `the endpoint speaks service protocol ${m.minProtocolVersion}..${m.maxProtocolVersion}; Endure speaks ${MIN_PROTOCOL_VERSION}..${MAX_PROTOCOL_VERSION}`,
    );
  }
  // An endpoint that does not say serves bidirectional streams (what HTTP/2 SDK servers do).
  return { ...m, protocolMode: m.protocolMode ?? 'BIDI_STREAM' };
}

function getHttp2(url: URL, headers: Record<string, string>, deadline: Deadline): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    // A session of its own: discovery is rare, and must not disturb the invocation pool.
    const session = connect(url.origin);
    let done = false;
    let ended = false;
    const finish = (outcome: DiscoveryError | RawResponse) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // A body not read to its end (refused, cut off, timed out) is dropped with its session.
      if (ended) session.close();
      else session.destroy();
      if (outcome instanceof DiscoveryError) reject(outcome);
      else resolve(outcome);
    };
    const timer = deadline.arm(finish);
    const fail = (err: Error) =>
      finish(new DiscoveryError(DiscoveryErrorCode.Unreachable, `cannot reach ${url.origin}: ${err.message}`, { cause: err }));
    session.on('error', fail);
    let req: ReturnType<typeof session.request>;
    try {
      req = session.request({ ':method': 'GET', ':path': url.pathname + url.search, ...headers });
    } catch (err) {
      fail(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    req.on('error', fail);
    let body: BoundedBody | undefined;
    let contentType = '';
    req.once('response', (h) => {
      body = new BoundedBody(Number(h[':status']));
      contentType = String(h['content-type'] ?? '');
      const refused = body.checkDeclared(h['content-length']);
      if (refused) finish(refused);
    });
    req.on('data', (c: Buffer) => {
      if (body?.push(c) === 'full') finish(body.cutOff(contentType));
    });
    req.once('end', () => {
      ended = true;
      if (body) finish(body.response(contentType));
    });
    req.once('close', () => {
      if (!body) fail(new Error(`the stream closed before a response (code ${req.rstCode ?? 0})`));
    });
  });
}

function getHttp1(url: URL, headers: Record<string, string>, deadline: Deadline): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (outcome: DiscoveryError | RawResponse) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (!req.writableEnded || !res?.complete) req.destroy();
      if (outcome instanceof DiscoveryError) reject(outcome);
      else resolve(outcome);
    };
    const fail = (err: Error) =>
      finish(new DiscoveryError(DiscoveryErrorCode.Unreachable, `cannot reach ${url.origin}: ${err.message}`, { cause: err }));
    let res: IncomingMessage | undefined;
    const req = httpRequest(url, { method: 'GET', headers, agent: false }, (response) => {
      res = response;
      const body = new BoundedBody(response.statusCode ?? 0);
      const contentType = String(response.headers['content-type'] ?? '');
      const refused = body.checkDeclared(response.headers['content-length']);
      if (refused) {
        finish(refused);
        return;
      }
      response.on('data', (c: Buffer) => {
        if (body.push(c) === 'full') finish(body.cutOff(contentType));
      });
      response.once('end', () => finish(body.response(contentType)));
      response.on('error', fail);
    });
    const timer = deadline.arm(finish);
    req.on('error', fail);
    req.end();
  });
}

/** Whether the endpoint answers an HTTP/1.1 request at all (its status line is enough). */
function answersHttp1(url: URL, headers: Record<string, string>, deadline: Deadline): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'GET', headers, agent: false }, (res) => {
      clearTimeout(timer);
      req.destroy();
      resolve((res.statusCode ?? 0) > 0);
    });
    const timer = deadline.arm((err) => {
      req.destroy();
      reject(err);
    });
    req.on('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
    req.end();
  });
}
