import { json, empty, type AdminResponse, type AdminRoute } from '../admin/index.ts';
import type { ResponseRegistry } from '../ingress-http/index.ts';
import type { Invoker } from '../invoker/index.ts';
import type { Partitioner } from '../sharding/index.ts';
import type { PartitionReader } from '../store/index.ts';
import { IdDecodeError, formatInvocationId, newInvocationId, parseInvocationId } from '../types/index.ts';
import { NotLeaderError, type Command, type IngressAnswer, type InvocationOp, type InvocationStatus } from '../worker/index.ts';

/** What the invocation routes need from the node. */
export interface InvocationRouteDeps {
  readonly nodeId: string;
  readonly partitioner: Partitioner;
  readonly responses: ResponseRegistry;
  readonly store: PartitionReader;
  readonly invoker: Invoker;
  readonly submit: (partition: number, command: Command) => Promise<void>;
}

/** Success status of each operation, as Restate's admin API answers it. */
const OK_STATUS: Record<InvocationOp, number> = {
  cancel: 202,
  kill: 200,
  pause: 202,
  resume: 200,
  purge: 200,
  'restart-as-new': 200,
};

/**
 * Admin routes on invocations: cancel, kill, pause, resume, purge, restart-as-new (PATCH, and
 * the older DELETE with `?mode=`), and `GET /invocations/{id}` for an invocation's status.
 * Every change is a command on the invocation's partition log (rule 1); the answer is the
 * processor's.
 */
export function invocationRoutes(deps: InvocationRouteDeps): AdminRoute[] {
  const ops: InvocationOp[] = ['cancel', 'kill', 'pause', 'resume', 'purge', 'restart-as-new'];
  return [
    ...ops.map((op) => ({
      method: 'PATCH',
      path: `/invocations/:id/${op}`,
      handle: (_req: unknown, ctx: { params: Record<string, string> }) => runOp(deps, op, ctx.params.id ?? ''),
    })),
    {
      method: 'DELETE',
      path: '/invocations/:id',
      handle: async (req, ctx) => {
        const mode = req.query.get('mode') ?? 'cancel';
        if (mode !== 'cancel' && mode !== 'kill' && mode !== 'purge') {
          return json(400, { code: 400, message: `The request field 'mode' is invalid. Reason: expected cancel, kill or purge, got '${mode}'` });
        }
        const res = await runOp(deps, mode, ctx.params.id ?? '');
        return res.status < 300 ? empty(202) : res;
      },
    },
    {
      method: 'GET',
      path: '/invocations/:id',
      handle: async (_req, ctx) => {
        const id = ctx.params.id ?? '';
        const bad = checkId(deps, id);
        if (bad) return bad;
        const status = await deps.store.getInvocation(id);
        if (!status) return notFound(id);
        return json(200, describe(status, deps.invoker.stateOf(id)));
      },
    },
  ];
}

function checkId(deps: InvocationRouteDeps, id: string): AdminResponse | undefined {
  try {
    deps.partitioner.partitionOfInvocation(id);
    return undefined;
  } catch (err) {
    if (err instanceof IdDecodeError) return json(400, { code: 400, message: `bad invocation id '${id}': ${err.message}` });
    throw err;
  }
}

function notFound(id: string): AdminResponse {
  return json(404, { code: 404, message: `invocation '${id}' not found` });
}

async function runOp(deps: InvocationRouteDeps, op: InvocationOp, id: string): Promise<AdminResponse> {
  const bad = checkId(deps, id);
  if (bad) return bad;
  const partition = deps.partitioner.partitionOfInvocation(id);
  const waiter = deps.responses.register();
  // The new invocation keeps the partition key (an object's key hashes to it anyway), so its
  // partition creates it in the same apply that answers with its id (see the state machine).
  const newId = op === 'restart-as-new' ? formatInvocationId({ ...newInvocationId(), partitionKey: parseInvocationId(id).partitionKey }) : undefined;
  try {
    await deps.submit(partition, {
      kind: 'op',
      op,
      id,
      now: Date.now(),
      ...(newId ? { newId } : {}),
      sink: { kind: 'ingress', node: deps.nodeId, requestId: waiter.requestId },
    });
  } catch (err) {
    waiter.cancel();
    if (err instanceof NotLeaderError) throw err;
    return json(503, { code: 503, message: `cannot reach the partition: ${err instanceof Error ? err.message : String(err)}` });
  }
  const answer: IngressAnswer = await waiter.answer;
  if (answer.kind !== 'op') return json(500, { code: 500, message: 'unexpected answer' });
  switch (answer.outcome) {
    case 'done':
      if (op === 'restart-as-new') return json(200, { new_invocation_id: answer.newId });
      return empty(OK_STATUS[op]);
    case 'already-paused':
      return empty(200);
    case 'not-found':
      return notFound(id);
    case 'completed':
      return json(409, { code: 409, message: `invocation '${id}' has already completed` });
    case 'not-completed':
      return json(409, { code: 409, message: `invocation '${id}' has not completed yet` });
    case 'not-paused':
      return json(409, { code: 409, message: `invocation '${id}' is not paused` });
  }
}

/** Status names follow Restate's sys_invocation view. */
function describe(s: InvocationStatus, invoker: 'running' | 'backing-off' | undefined): Record<string, unknown> {
  const status =
    s.phase === 'inboxed'
      ? 'pending'
      : s.phase === 'invoked'
        ? (invoker ?? 'ready')
        : s.phase;
  return {
    id: s.id,
    status,
    target: `${s.target.service}/${s.target.key !== undefined ? `${s.target.key}/` : ''}${s.target.handler}`,
    target_service_name: s.target.service,
    target_service_key: s.target.key ?? null,
    target_handler_name: s.target.handler,
    target_service_ty: s.target.serviceType.toLowerCase(),
    idempotency_key: s.idempotencyKey ?? null,
    pinned_deployment_id: s.target.deploymentId,
    created_at: new Date(s.createdAt).toISOString(),
    modified_at: new Date(s.modifiedAt).toISOString(),
    completed_at: s.completedAt !== undefined ? new Date(s.completedAt).toISOString() : null,
    journal_size: s.journalLength,
    completion_result: s.phase === 'completed' ? (s.result?.ok ? 'success' : 'failure') : null,
    completion_failure: s.result && !s.result.ok ? `[${s.result.code}] ${s.result.message}` : null,
  };
}
