import { AdminError, AdminErrorCode, empty, json, type AdminResponse, type AdminRoute } from '../admin/index.ts';
import { FlowRuleError, flowLimiterView, flowPartitionKey, flowRuleView, parseFlowRule, type FlowRule } from '../flow/index.ts';
import type { ResponseRegistry } from '../ingress-http/index.ts';
import type { Partitioner } from '../sharding/index.ts';
import type { PartitionReader } from '../store/index.ts';
import { partitionKeyOf } from '../types/index.ts';
import { NotLeaderError, type Command, type FlowCommand } from '../worker/index.ts';

/** The partition that owns a flow rule and its limiters. */
export function flowRulePartition(partitioner: Partitioner, rule: string): number {
  return partitioner.partitionOf(partitionKeyOf(flowPartitionKey(rule)));
}

/**
 * The node's copy of the flow rules, read by whoever resolves a target (the ingress, the
 * invoker, schedules) to tag limited invocations. The partitions own the rules; this copy is
 * loaded from them at start and follows every change made through this node's admin API.
 */
export class FlowRules {
  readonly #rules = new Map<string, FlowRule>();

  /** Reads every partition's rules. */
  async load(store: PartitionReader, partitions: number): Promise<void> {
    this.#rules.clear();
    for (let p = 0; p < partitions; p++) for (const r of await store.listFlowRules(p)) this.#rules.set(r.id, r);
  }

  set(rule: FlowRule): void {
    this.#rules.set(rule.id, rule);
  }

  delete(id: string): void {
    this.#rules.delete(id);
  }

  /** The id of the rule that applies to a handler: its own, else its service's. */
  ruleFor(service: string, handler: string): string | undefined {
    const own = `${service}/${handler}`;
    if (this.#rules.has(own)) return own;
    return this.#rules.has(service) ? service : undefined;
  }
}

/** What the flow routes need from the node. */
export interface FlowDeps {
  readonly nodeId: string;
  readonly partitioner: Partitioner;
  readonly responses: ResponseRegistry;
  readonly store: PartitionReader;
  readonly rules: FlowRules;
  readonly submit: (partition: number, command: Command) => Promise<void>;
}

/**
 * `/flow-rules`: set (PUT /flow-rules/{id}), list, get (with live limiters), delete. The id is
 * `Service` or `Service/handler`. Every change is a command on the rule's partition; the
 * answer is the processor's.
 */
export function flowRoutes(deps: FlowDeps): AdminRoute[] {
  // A handler's rule is addressed as /flow-rules/Service%2Fhandler or /flow-rules/Service/handler.
  const idOf = (params: Record<string, string | undefined>) =>
    params.handler === undefined ? (params.id ?? '') : `${params.id ?? ''}/${params.handler}`;
  const one = (path: string): AdminRoute[] => [
    { method: 'GET', path, handle: (_req, { params }) => view(deps, idOf(params), 200) },
    {
      method: 'PUT',
      path,
      handle: async (req, { params }) => {
        const id = idOf(params);
        const now = Date.now();
        const partition = flowRulePartition(deps.partitioner, id);
        const previous = await deps.store.getFlowRule(partition, id);
        let spec: FlowRule;
        try {
          spec = parseFlowRule(id, parseBody(req.body), now, previous);
        } catch (err) {
          if (err instanceof FlowRuleError) throw fieldError(err.field, err.message);
          throw err;
        }
        await run(deps, { kind: 'flow', op: 'put-rule', rule: id, now, spec });
        deps.rules.set(spec);
        return view(deps, id, previous ? 200 : 201);
      },
    },
    {
      method: 'DELETE',
      path,
      handle: async (_req, { params }) => {
        const id = idOf(params);
        await run(deps, { kind: 'flow', op: 'delete-rule', rule: id, now: Date.now() });
        deps.rules.delete(id);
        return empty(202);
      },
    },
  ];
  return [
    {
      method: 'GET',
      path: '/flow-rules',
      handle: async () => {
        const all: FlowRule[] = [];
        for (let p = 0; p < deps.partitioner.partitions; p++) all.push(...(await deps.store.listFlowRules(p)));
        all.sort((a, b) => (a.id < b.id ? -1 : 1));
        return json(200, { rules: all.map(flowRuleView) });
      },
    },
    ...one('/flow-rules/:id'),
    ...one('/flow-rules/:id/:handler'),
  ];
}

async function run(deps: FlowDeps, command: FlowCommand): Promise<void> {
  const waiter = deps.responses.register();
  try {
    await deps.submit(flowRulePartition(deps.partitioner, command.rule), {
      ...command,
      sink: { kind: 'ingress', node: deps.nodeId, requestId: waiter.requestId },
    });
  } catch (err) {
    waiter.cancel();
    if (err instanceof NotLeaderError) throw err;
    throw new AdminError(AdminErrorCode.Internal, 503, `cannot reach the partition: ${err instanceof Error ? err.message : String(err)}`);
  }
  const answer = await waiter.answer;
  if (answer.kind === 'op' && answer.outcome === 'not-found') throw notFound(command.rule);
}

async function view(deps: FlowDeps, id: string, status: number): Promise<AdminResponse> {
  const partition = flowRulePartition(deps.partitioner, id);
  const rule = await deps.store.getFlowRule(partition, id);
  if (!rule) throw notFound(id);
  const limiters = await deps.store.listFlowLimiters(partition, id);
  return json(status, { ...flowRuleView(rule), limiters: limiters.map(flowLimiterView) });
}

function parseBody(body: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (e) {
    throw new AdminError(AdminErrorCode.InvalidBody, 400, `Invalid JSON body: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new AdminError(AdminErrorCode.InvalidBody, 400, 'Invalid JSON body: expected a JSON object');
  }
  return value as Record<string, unknown>;
}

function fieldError(field: string, reason: string): AdminError {
  return new AdminError(AdminErrorCode.InvalidField, 400, `The request field '${field}' is invalid. Reason: ${reason}`);
}

function notFound(id: string): AdminError {
  return new AdminError(AdminErrorCode.NotFound, 404, `flow rule '${id}' not found`);
}
