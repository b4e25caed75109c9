import { create, toBinary } from '@bufbuild/protobuf';
import { UNKNOWN_TARGET, recordIngressRequest } from '../common/metrics.ts';
import { pb } from '../protocol/index.ts';
import type { Partitioner } from '../sharding/index.ts';
import { StoreUnavailableError } from '../store/index.ts';
import {
  IdDecodeError,
  formatInvocationId,
  idempotentInvocationId,
  newInvocationId,
  parseAwakeableId,
  parseInvocationId,
  workflowRunId,
} from '../types/index.ts';
import type { Command, IngressAnswer, ResolvedTarget, SignalResult } from '../types/index.ts';
import { LIMIT_KEY_HEADER, PRIORITY_HEADER, flowHeaderProblem } from '../flow/index.ts';
import { parseDelay } from './delay.ts';
import { IngressError, NOT_LEADER_HEADER, badServicePath, handlerNotFound, serviceNotFound } from './errors.ts';
import { NotLeaderError } from '../worker/leadership.ts';
import type { ResponseRegistry } from './responses.ts';

/** A request as the ingress core sees it: no sockets, so tests and embedded mode can call it. */
export interface IngressRequest {
  readonly method: string;
  /** Path and query, as received (still percent-encoded). */
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Uint8Array;
  /** Aborted when the client goes away. */
  readonly signal?: AbortSignal;
}

/** A response of the ingress core. */
export interface IngressResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array | string;
}

/** The schema facts the ingress needs about a handler. */
export interface TargetLookup {
  /** undefined: unknown service; 'no-handler': service known, handler not. */
  lookup(service: string): { ty: ResolvedTarget['serviceType'] } | undefined;
  resolve(service: string, handler: string, key: string | undefined): ResolvedTarget | 'no-handler' | undefined;
  handlerInfo(service: string, handler: string): { inputContentType?: string; acceptsEmptyInput: boolean; outputContentType?: string; public: boolean } | undefined;
}

/** What the ingress needs from the node. */
export interface IngressDeps {
  readonly nodeId: string;
  readonly targets: TargetLookup;
  readonly partitioner: Partitioner;
  readonly responses: ResponseRegistry;
  readonly submit: (partition: number, command: Command) => Promise<void>;
  /** Why the node cannot take calls now (its store refuses writes), or undefined when it can. */
  readonly unhealthy?: () => string | undefined;
}

const JSON_HEADERS = { 'content-type': 'application/json' };
const FORWARDED_HEADER_EXCLUDES = new Set([
  'host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive', 'upgrade', 'te', 'trailer', 'proxy-connection',
]);

/**
 * The HTTP ingress: turns requests into `invoke` and `attach` commands on the owning
 * partition's log and waits for the processor's answer. It never reads or writes the store
 * (rule 1); a bad request is answered before anything is appended, so it changes nothing.
 */
export function createIngressHandler(deps: IngressDeps): (req: IngressRequest) => Promise<IngressResponse> {
  return async (req) => {
    const startedAt = performance.now();
    const seen: SeenTarget = { service: UNKNOWN_TARGET, handler: UNKNOWN_TARGET };
    let res: IngressResponse;
    try {
      res = await route(deps, req, seen);
    } catch (err) {
      if (err instanceof IngressError) {
        res = errorResponse(err.status, err.message);
        Object.assign(res.headers, err.headers);
      }
      else res = errorResponse(500, err instanceof Error ? err.message : String(err));
    }
    recordIngressRequest(seen.service, seen.handler, res.status, startedAt);
    return res;
  };
}

/**
 * The target a request named, for the metrics' labels: set only once the schema registry
 * knows it (or for Restate's own API, by verb), so that no client can grow the label set.
 */
interface SeenTarget {
  service: string;
  handler: string;
}

/** Verbs of `/restate/...` that label metrics; anything else stays `unknown`. */
const RESTATE_VERBS = new Set(['health', 'invocation', 'workflow', 'awakeables', 'a', 'call', 'send', 'attach', 'output']);

/** Restate's error body. */
export function errorResponse(status: number, message: string, source: 'ingress' | 'invocation' = 'ingress'): IngressResponse {
  return {
    status,
    headers: { ...JSON_HEADERS, 'x-restate-error-source': source },
    body: JSON.stringify({ code: status, message }),
  };
}

async function route(deps: IngressDeps, req: IngressRequest, seen: SeenTarget): Promise<IngressResponse> {
  const target = originForm(req.url);
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : target.slice(q + 1));
  const segments = rawPath.split('/').slice(1);
  if (segments.length > 0 && segments[segments.length - 1] === '') segments.pop();
  let parts: string[];
  try {
    parts = segments.map((s) => decodeURIComponent(s));
  } catch {
    throw new IngressError(400, 'bad path, cannot decode key');
  }

  if (parts[0] === 'restate') {
    seen.service = 'restate';
    if (parts[1] !== undefined && RESTATE_VERBS.has(parts[1])) seen.handler = parts[1];
    return restateApi(deps, req, parts.slice(1), query, seen);
  }
  if (req.method !== 'POST') {
    if (parts.length === 0) throw new IngressError(404, 'not found');
    throw new IngressError(405, 'method not allowed');
  }
  return invokeHandler(deps, req, parts, query, seen);
}

/**
 * The path and query of a request target. Clients talking to a proxy (and some that are not)
 * send the absolute form, `POST http://host:8080/Greeter/greet`; it routes like its path
 * (RFC 9112 §3.2.2).
 */
function originForm(url: string): string {
  if (url.startsWith('/')) return url;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new IngressError(400, `bad request target '${url}': expected a path or an absolute http URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new IngressError(400, `bad request target '${url}': expected a path or an absolute http URL`);
  }
  return parsed.pathname + parsed.search;
}

async function restateApi(deps: IngressDeps, req: IngressRequest, parts: string[], query: URLSearchParams, seen: SeenTarget): Promise<IngressResponse> {
  const [verb, ...rest] = parts;
  switch (verb) {
    case 'health': {
      if (rest.length !== 0) break;
      const problem = deps.unhealthy?.();
      if (problem !== undefined) throw new IngressError(503, problem);
      return { status: 200, headers: { ...JSON_HEADERS }, body: '{}' };
    }
    case 'invocation':
      return invocationApi(deps, req, rest);
    case 'workflow': {
      if (rest.length !== 3 || (rest[2] !== 'attach' && rest[2] !== 'output')) {
        throw new IngressError(400, 'bad path, expected either /restate/workflow/:workflow_name/:workflow_key/output or /restate/workflow/:workflow_name/:workflow_key/attach');
      }
      requireMethod(req, 'GET');
      const [wf, key, mode] = rest as [string, string, 'attach' | 'output'];
      const svc = deps.targets.lookup(wf);
      if (svc?.ty !== 'WORKFLOW') throw serviceNotFound(wf);
      return attachTo(deps, req, workflowRunId(wf, key), mode);
    }
    case 'awakeables':
    case 'a':
      return awakeableApi(deps, req, rest);
    case 'call':
    case 'send': {
      if (rest.length === 0) throw new IngressError(400, 'bad path, expected /restate/call/:service/:handler or /restate/send/:service/:handler');
      requireMethod(req, 'POST');
      return invokeHandler(deps, req, verb === 'send' ? [...rest, 'send'] : rest, query, seen);
    }
    case 'attach':
    case 'output': {
      if (rest.length === 0) {
        requireMethod(req, 'POST');
        return attachTo(deps, req, targetFromBody(req.body), verb);
      }
      if (rest.length !== 1) throw new IngressError(400, 'bad path, expected /restate/attach/:invocation_id or /restate/output/:invocation_id');
      requireMethod(req, 'GET');
      return attachTo(deps, req, checkedInvocationId(rest[0]!), verb);
    }
    default:
      break;
  }
  throw new IngressError(404, 'not found');
}

/** `/restate/invocation/{id}/attach|output` and `/restate/invocation/{svc}/{key?}/{handler}/{idempotencyKey}/attach|output`. */
async function invocationApi(deps: IngressDeps, req: IngressRequest, rest: string[]): Promise<IngressResponse> {
  const mode = rest[rest.length - 1];
  if ((mode !== 'attach' && mode !== 'output') || rest.length < 2) {
    throw new IngressError(
      400,
      'bad path, expected either /restate/invocation/:invocation_id/output or /restate/invocation/:invocation_id/attach or /restate/invocation/:invocation_target/:idempotency_key/output or /restate/invocation/:invocation_target/:idempotency_key/attach',
    );
  }
  requireMethod(req, 'GET');
  if (rest.length === 2) return attachTo(deps, req, checkedInvocationId(rest[0]!), mode);
  const [service, ...target] = rest.slice(0, -1) as [string, ...string[]];
  const svc = deps.targets.lookup(service);
  if (!svc) throw serviceNotFound(service);
  const keyed = svc.ty !== 'SERVICE';
  if (target.length !== (keyed ? 3 : 2)) throw new IngressError(400, 'bad path, expected /restate/invocation/:service/:key?/:handler/:idempotency_key/attach|output');
  const key = keyed ? target[0] : undefined;
  const handler = target[target.length - 2]!;
  const idempotencyKey = target[target.length - 1]!;
  return attachTo(deps, req, idempotentInvocationId(service, key, handler, idempotencyKey), mode);
}

async function awakeableApi(deps: IngressDeps, req: IngressRequest, rest: string[]): Promise<IngressResponse> {
  if (rest.length !== 2 || (rest[1] !== 'resolve' && rest[1] !== 'reject')) {
    throw new IngressError(400, 'bad path, expected either /restate/awakeables/:id/resolve or /restate/awakeables/:id/reject');
  }
  requireMethod(req, 'POST');
  const [id, action] = rest as [string, 'resolve' | 'reject'];
  let target: { invocationId: string; signal: number };
  try {
    target = parseAwakeableId(id);
  } catch (err) {
    throw new IngressError(400, `bad awakeable id '${id}': ${err instanceof Error ? err.message : String(err)}`);
  }
  const partition = deps.partitioner.partitionOfInvocation(target.invocationId);
  const body = Buffer.from(req.body.buffer, req.body.byteOffset, req.body.length);
  const result: SignalResult =
    action === 'resolve'
      ? { kind: 'value', value: req.body }
      : { kind: 'failure', code: 500, message: body.length > 0 ? body.toString('utf8') : 'rejected' };
  // Answered once the signal is durable in the log; whether the target still exists does not matter to the caller.
  await ask(deps, req, partition, (sink) => ({ kind: 'signal', id: target.invocationId, signal: target.signal, result, sink }));
  return { status: 202, headers: {}, body: '' };
}

async function attachTo(deps: IngressDeps, req: IngressRequest, id: string, mode: 'attach' | 'output'): Promise<IngressResponse> {
  const partition = deps.partitioner.partitionOfInvocation(id);
  const answer = await ask(deps, req, partition, (sink) => ({ kind: 'attach', id, mode, sink }));
  return answerResponse(answer, undefined);
}

/** The invocation named by a `{target: "invocation" | "idempotentInvocation" | "workflow", ...}` body. */
function targetFromBody(body: Uint8Array): string {
  let t: Record<string, unknown>;
  try {
    t = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.length).toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new IngressError(400, 'bad request body: expected a JSON invocation target');
  }
  const str = (name: string): string => {
    const v = t?.[name];
    if (typeof v !== 'string' || v === '') throw new IngressError(400, `bad request body: missing field '${name}'`);
    return v;
  };
  switch (t?.target) {
    case 'invocation':
      return checkedInvocationId(str('invocationId'));
    case 'idempotentInvocation':
      return idempotentInvocationId(str('service'), typeof t.key === 'string' ? t.key : undefined, str('handler'), str('idempotencyKey'));
    case 'workflow':
      return workflowRunId(str('workflowName'), str('workflowKey'));
    default:
      throw new IngressError(400, "bad request body: 'target' must be invocation, idempotentInvocation or workflow");
  }
}

function checkedInvocationId(id: string): string {
  try {
    parseInvocationId(id);
    return id;
  } catch (err) {
    if (err instanceof IdDecodeError) throw new IngressError(400, `bad invocation id '${id}': ${err.message}`);
    throw err;
  }
}

function requireMethod(req: IngressRequest, method: string): void {
  if (req.method !== method) throw new IngressError(405, 'method not allowed');
}

async function invokeHandler(
  deps: IngressDeps,
  req: IngressRequest,
  parts: string[],
  query: URLSearchParams,
  seen: SeenTarget,
): Promise<IngressResponse> {
  const service = parts[0];
  if (service === undefined) throw badServicePath();
  const svc = deps.targets.lookup(service);
  if (!svc) throw serviceNotFound(service);
  const keyed = svc.ty !== 'SERVICE';
  const rest = parts.slice(1);
  const isSend = rest[rest.length - 1] === 'send' && rest.length === (keyed ? 3 : 2);
  if (isSend) rest.pop();
  if (rest.length !== (keyed ? 2 : 1)) throw badServicePath();
  const key = keyed ? rest[0] : undefined;
  const handler = rest[rest.length - 1]!;

  const target = deps.targets.resolve(service, handler, key);
  if (target === undefined) throw serviceNotFound(service);
  if (target === 'no-handler') throw handlerNotFound(service, handler);
  seen.service = service;
  seen.handler = handler;
  const info = deps.targets.handlerInfo(service, handler);
  if (info && !info.public) throw new IngressError(400, 'the invoked service is not public');
  validateInput(req, info);

  const delayParam = query.get('delay');
  let delayMs: number | undefined;
  if (delayParam !== null) {
    if (!isSend) throw new IngressError(400, 'cannot use the delay query parameter with calls. The delay is supported only with sends');
    delayMs = parseDelay(delayParam);
  }
  const idempotencyKey = header(req, 'idempotency-key');
  if (idempotencyKey !== undefined && idempotencyKey === '') throw new IngressError(400, 'bad header idempotency-key: empty');
  const flowProblem = flowHeaderProblem(header(req, LIMIT_KEY_HEADER), header(req, PRIORITY_HEADER));
  if (flowProblem !== undefined) throw new IngressError(400, flowProblem);
  const workflowRun = target.serviceType === 'WORKFLOW' && target.handlerType === 'WORKFLOW';
  if (workflowRun && idempotencyKey !== undefined) {
    throw new IngressError(400, 'cannot use the idempotency key with workflow handlers. The handler invocation will already be idempotent by the workflow key itself.');
  }

  const id = workflowRun
    ? workflowRunId(service, key ?? '')
    : idempotencyKey !== undefined
      ? idempotentInvocationId(service, key, handler, idempotencyKey)
      : formatInvocationId(newInvocationId(key));
  const partition = deps.partitioner.partitionOfInvocation(id);
  const now = Date.now();
  const inputEntry = toBinary(
    pb.InputCommandMessageSchema,
    create(pb.InputCommandMessageSchema, { headers: forwardedHeaders(req), value: { content: req.body } }),
  );
  const answer = await ask(deps, req, partition, (sink) => ({
    kind: 'invoke',
    invocation: {
      id,
      target,
      inputEntry,
      idempotencyKey,
      executeAt: delayMs !== undefined && delayMs > 0 ? now + delayMs : undefined,
      createdAt: now,
      sink,
      sinkMode: isSend ? 'accepted' : 'result',
    },
  }));
  return answerResponse(answer, info?.outputContentType);
}

/** Appends a command carrying a sink for this request, then waits for the answer. */
async function ask(
  deps: IngressDeps,
  req: IngressRequest,
  partition: number,
  build: (sink: { kind: 'ingress'; node: string; requestId: number }) => Command,
): Promise<IngressAnswer> {
  const waiter = deps.responses.register(partition);
  const onAbort = () => waiter.cancel();
  req.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await deps.submit(partition, build({ kind: 'ingress', node: deps.nodeId, requestId: waiter.requestId }));
  } catch (err) {
    waiter.cancel();
    if (err instanceof StoreUnavailableError) throw new IngressError(503, err.message);
    if (err instanceof NotLeaderError) throw new IngressError(503, err.message, { [NOT_LEADER_HEADER]: String(err.partition) });
    throw new IngressError(503, `internal routing error: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    return await waiter.answer;
  } catch (err) {
    // The partition moved to another node after the command was committed: it runs there, and
    // a retry with the same idempotency key attaches to it.
    throw new IngressError(503, err instanceof Error ? err.message : String(err));
  } finally {
    req.signal?.removeEventListener('abort', onAbort);
  }
}

function answerResponse(answer: IngressAnswer, outputContentType: string | undefined): IngressResponse {
  switch (answer.kind) {
    case 'accepted':
      return {
        status: 202,
        headers: { ...JSON_HEADERS, 'x-restate-id': answer.id },
        body: JSON.stringify({ invocationId: answer.id, status: answer.previously ? 'PreviouslyAccepted' : 'Accepted' }),
      };
    case 'not-found':
      return errorResponse(404, 'invocation not found');
    case 'not-ready':
      return errorResponse(470, 'the invocation exists but has not completed yet');
    case 'op':
      return answer.outcome === 'not-found' ? errorResponse(404, 'invocation not found') : { status: 202, headers: {}, body: '' };
    case 'state':
      // State mutations come through the admin API only.
      return errorResponse(500, 'unexpected answer to an ingress request');
    case 'result': {
      const r = answer.result;
      if (!r.ok) {
        const status = r.code >= 100 && r.code <= 999 ? r.code : 500;
        const res = errorResponse(status, r.message, 'invocation');
        res.headers['x-restate-id'] = answer.id;
        return res;
      }
      const headers: Record<string, string> = { 'x-restate-id': answer.id };
      if (r.value.length > 0) headers['content-type'] = outputContentType ?? 'application/json';
      return { status: 200, headers, body: r.value };
    }
  }
}

function header(req: IngressRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function forwardedHeaders(req: IngressRequest): { key: string; value: string }[] {
  const out: { key: string; value: string }[] = [];
  for (const [key, value] of Object.entries(req.headers)) {
    if (value === undefined || FORWARDED_HEADER_EXCLUDES.has(key) || key.startsWith(':')) continue;
    out.push({ key, value: Array.isArray(value) ? value.join(', ') : value });
  }
  return out;
}

/** Rejects input the handler cannot take, before anything is appended. */
function validateInput(req: IngressRequest, info: ReturnType<TargetLookup['handlerInfo']>): void {
  if (!info) return;
  const body = req.body;
  if (body.length === 0) {
    if (!info.acceptsEmptyInput) throw new IngressError(400, 'input validation error: the handler requires a non-empty body');
    return;
  }
  const expected = info.inputContentType;
  if (expected === undefined) return;
  const contentType = header(req, 'content-type');
  const base = (s: string) => s.split(';')[0]!.trim().toLowerCase();
  if (expected !== '*/*' && contentType !== undefined && !matchesContentType(base(contentType), base(expected))) {
    throw new IngressError(400, `input validation error: expected content-type '${expected}', got '${contentType}'`);
  }
  if (base(expected) === 'application/json') {
    try {
      JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.length).toString('utf8'));
    } catch (err) {
      throw new IngressError(400, `input validation error: the body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

function matchesContentType(actual: string, expected: string): boolean {
  if (expected.endsWith('/*')) return actual.startsWith(expected.slice(0, -1));
  return actual === expected;
}

