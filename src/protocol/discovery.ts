import { request as httpRequest } from 'node:http';
import { connect } from 'node:http2';
import { z } from 'zod';
import { DiscoveryError, DiscoveryErrorCode } from './errors.ts';
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
  /** Whole-request deadline; 10 s by default. */
  readonly timeoutMs?: number;
}

interface RawResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/**
 * Asks an SDK endpoint for its manifest (`GET {url}/discover`) and validates it. HTTP/2 with
 * prior knowledge unless `useHttp11`, the same transport invocations will use later. When
 * HTTP/2 fails but the endpoint answers HTTP/1.1, the error says so (Restate's META0014)
 * instead of registering an endpoint that every invocation would then fail to reach.
 */
export async function discoverEndpoint(url: string, opts: DiscoverOptions = {}): Promise<EndpointManifest> {
  const target = discoverUrl(url);
  const headers = { ...(opts.headers ?? {}), accept: ACCEPT };
  const timeoutMs = opts.timeoutMs ?? 10_000;

  let response: RawResponse;
  if (opts.useHttp11) response = await getHttp1(target, headers, timeoutMs);
  else {
    try {
      response = await getHttp2(target, headers, timeoutMs);
    } catch (err) {
      const http11 = await getHttp1(target, headers, timeoutMs).then(
        (r) => r.status > 0,
        () => false,
      );
      if (http11) {
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
    const detail = response.body.trim() ? `: ${response.body.trim().slice(0, 300)}` : '';
    throw new DiscoveryError(DiscoveryErrorCode.BadStatus, `the endpoint answered ${response.status} to discovery${detail}`, {
      status: response.status,
    });
  }
  if (!/^application\/vnd\.restate\.endpointmanifest\.v\d+\+json\b/i.test(response.contentType.trim())) {
    throw new DiscoveryError(
      DiscoveryErrorCode.BadContentType,
      `unexpected content-type '${response.contentType}' from the discovery endpoint`,
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

function getHttp2(url: URL, headers: Record<string, string>, timeoutMs: number): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    // A session of its own: discovery is rare, and must not disturb the invocation pool.
    const session = connect(url.origin);
    let done = false;
    const finish = (err: DiscoveryError | undefined, value?: RawResponse) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) session.destroy();
      else session.close();
      if (err) reject(err);
      else resolve(value as RawResponse);
    };
    const timer = setTimeout(
      () => finish(new DiscoveryError(DiscoveryErrorCode.Unreachable, `discovery of ${url.origin} timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
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
    let status = 0;
    let contentType = '';
    req.once('response', (h) => {
      status = Number(h[':status']);
      contentType = String(h['content-type'] ?? '');
    });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => finish(undefined, { status, contentType, body: Buffer.concat(chunks).toString('utf8') }));
    req.once('close', () => {
      if (status === 0) fail(new Error(`the stream closed before a response (code ${req.rstCode ?? 0})`));
    });
  });
}

function getHttp1(url: URL, headers: Record<string, string>, timeoutMs: number): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let done = false;
    const settle = (err: DiscoveryError | undefined, value?: RawResponse) => {
      if (done) return;
      done = true;
      if (err) reject(err);
      else resolve(value as RawResponse);
    };
    const fail = (err: Error) =>
      settle(new DiscoveryError(DiscoveryErrorCode.Unreachable, `cannot reach ${url.origin}: ${err.message}`, { cause: err }));
    const req = httpRequest(url, { method: 'GET', headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () =>
        settle(undefined, {
          status: res.statusCode ?? 0,
          contentType: String(res.headers['content-type'] ?? ''),
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', fail);
    });
    req.once('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on('error', fail);
    req.end();
  });
}

/**
 * Asks an in-process endpoint (the SDK's fetch-style handler, embedded mode) for its manifest:
 * the same request and the same checks as over the network, without a socket.
 */
export async function discoverInProcess(url: string, handler: (request: Request) => Promise<Response>): Promise<EndpointManifest> {
  const target = new URL(url);
  target.pathname = `${target.pathname.replace(/\/+$/, '')}/discover`;
  let response: Response;
  try {
    response = await handler(new Request(target.href, { method: 'GET', headers: { accept: ACCEPT } }));
  } catch (err) {
    throw new DiscoveryError(DiscoveryErrorCode.Unreachable, `the in-process endpoint failed: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  return parseManifest({ status: response.status, contentType: response.headers.get('content-type') ?? '', body: await response.text() });
}
