import { request as httpRequest } from 'node:http';
import { connect } from 'node:http2';
import { z } from 'zod';
import { DiscoveryError } from './errors.ts';

const ACCEPT = [4, 3, 2].map((v) => `application/vnd.restate.endpointmanifest.v${v}+json`).join(', ');

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
  readonly useHttp11?: boolean;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

/**
 * Asks an SDK endpoint for its manifest. HTTP/2 with prior knowledge first (what SDK endpoints
 * serve by default), HTTP/1.1 when asked to or when the endpoint does not speak HTTP/2.
 */
export async function discoverEndpoint(url: string, opts: DiscoverOptions = {}): Promise<EndpointManifest> {
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    throw new DiscoveryError(`'${url}' is not a valid URL`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new DiscoveryError(`unsupported URL scheme '${base.protocol}'`);
  const target = new URL(base.href);
  target.pathname = `${base.pathname.replace(/\/+$/, '')}/discover`;
  const headers = { ...(opts.headers ?? {}), accept: ACCEPT };
  const timeoutMs = opts.timeoutMs ?? 10_000;

  let response: { status: number; contentType: string; body: string };
  if (opts.useHttp11) response = await getHttp1(target, headers, timeoutMs);
  else {
    try {
      response = await getHttp2(target, headers, timeoutMs);
    } catch (err) {
      try {
        response = await getHttp1(target, headers, timeoutMs);
      } catch {
        throw err;
      }
    }
  }
  if (response.status !== 200) {
    throw new DiscoveryError(`the endpoint answered ${response.status} to discovery: ${response.body.slice(0, 300)}`);
  }
  if (!/application\/vnd\.restate\.endpointmanifest\.v\d+\+json/.test(response.contentType)) {
    throw new DiscoveryError(`unexpected content-type '${response.contentType}' from the discovery endpoint`);
  }
  let json: unknown;
  try {
    json = JSON.parse(response.body);
  } catch {
    throw new DiscoveryError('the endpoint returned a manifest that is not JSON');
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DiscoveryError(`invalid endpoint manifest at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'unknown'}`);
  }
  const m = parsed.data;
  if (m.maxProtocolVersion < 5 || m.minProtocolVersion > 6) {
    throw new DiscoveryError(
      `the endpoint speaks service protocol ${m.minProtocolVersion}..${m.maxProtocolVersion}; Endure speaks 5..6`,
    );
  }
  return { ...m, protocolMode: m.protocolMode ?? 'BIDI_STREAM' };
}

function getHttp2(url: URL, headers: Record<string, string>, timeoutMs: number): Promise<{ status: number; contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    const session = connect(url.origin);
    const timer = setTimeout(() => {
      session.destroy();
      reject(new DiscoveryError(`discovery of ${url.origin} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      session.destroy();
      reject(new DiscoveryError(`cannot reach ${url.origin}: ${err.message}`, { cause: err }));
    };
    session.once('error', fail);
    const req = session.request({ ':method': 'GET', ':path': url.pathname + url.search, ...headers });
    req.once('error', fail);
    let status = 0;
    let contentType = '';
    req.once('response', (h) => {
      status = Number(h[':status']);
      contentType = String(h['content-type'] ?? '');
    });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => {
      clearTimeout(timer);
      session.close();
      resolve({ status, contentType, body: Buffer.concat(chunks).toString('utf8') });
    });
  });
}

function getHttp1(url: URL, headers: Record<string, string>, timeoutMs: number): Promise<{ status: number; contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'GET', headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () =>
        resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.once('error', (err) => reject(new DiscoveryError(`cannot read from ${url.origin}: ${err.message}`, { cause: err })));
    });
    req.once('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.once('error', (err) => reject(new DiscoveryError(`cannot reach ${url.origin}: ${err.message}`, { cause: err })));
    req.end();
  });
}
