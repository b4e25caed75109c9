import { AdminError, AdminErrorCode, empty, json, type AdminResponse, type AdminRoute, type RegistrationHooks } from '../admin/index.ts';
import type { ResponseRegistry } from '../ingress-http/index.ts';
import type { EndpointManifest, RegisterResult } from '../metadata/index.ts';
import {
  MAX_BACKFILL_TICKS,
  ScheduleSpecError,
  compileCadence,
  parseScheduleSpec,
  scheduleFromMetadata,
  scheduleView,
  type ScheduleSpec,
} from '../schedule/index.ts';
import type { HandlerKindLookup } from '../schedule/spec.ts';
import type { Partitioner } from '../sharding/index.ts';
import type { PartitionReader } from '../store/index.ts';
import { partitionKeyOf } from '../types/index.ts';
import { NotLeaderError, type Command, type ResolvedTarget, type ScheduleCommand } from '../worker/index.ts';
import type { Targets } from './targets.ts';

/** 9999-12-31T23:59:59.999Z: instants beyond it have no ISO-8601 form. */
const LATEST_INSTANT = 253_402_300_799_999;

/** What the schedule routes and the timer need from the node. */
export interface ScheduleDeps {
  readonly nodeId: string;
  readonly partitioner: Partitioner;
  readonly responses: ResponseRegistry;
  readonly store: PartitionReader;
  readonly targets: Targets;
  readonly submit: (partition: number, command: Command) => Promise<void>;
  /**
   * Appends a command to its partition's log on whichever node leads it, without an answer
   * (in a cluster: the node-to-node append); resolves once committed.
   */
  readonly deliver: (partition: number, command: Command) => Promise<void>;
  /** How long a registration waits for a partition that is failing over. */
  readonly patienceMs: number;
  /**
   * Re-reads the deployments from the store. In a cluster a deployment registered through
   * another node reaches this node's registry at its next periodic reload; a definition naming
   * a target this node does not know yet re-reads once before it is refused.
   */
  readonly reloadRegistry?: () => Promise<void>;
}

/** The partition that owns a schedule. */
export function schedulePartition(partitioner: Partitioner, id: string): number {
  return partitioner.partitionOf(partitionKeyOf(`schedule/${id}`));
}

/**
 * The leader fires a schedule's timer: it resolves the target now (the current deployment) and
 * appends a `tick` with it and the time (rule 1; apply decides what runs).
 */
export async function fireScheduleTimer(deps: ScheduleDeps, partition: number, id: string, now: number): Promise<void> {
  const record = await deps.store.getSchedule(partition, id);
  const target = record ? resolve(deps, record.spec) : undefined;
  await deps.submit(partition, { kind: 'schedule', op: 'tick', id, now, ...(target ? { target } : {}) });
}

/**
 * `/schedules`: create (PUT /schedules/{id}, POST /schedules), list, get, delete, and
 * PATCH /schedules/{id}/pause|resume|trigger|backfill. Every change is a command on the
 * schedule's partition log; the answer is the processor's.
 */
export function scheduleRoutes(deps: ScheduleDeps): AdminRoute[] {
  const lookup = handlerLookup(deps);
  const put = async (id: string, body: Record<string, unknown>, created: number): Promise<AdminResponse> => {
    const now = Date.now();
    const parse = () => parseScheduleSpec(id, body, now, lookup);
    try {
      parse();
    } catch (err) {
      // A target registered through another node: re-read the deployments once, then judge.
      if (unknownTarget(err)) await deps.reloadRegistry?.();
    }
    const spec = specOrError(parse);
    const existing = await deps.store.getSchedule(schedulePartition(deps.partitioner, id), id);
    await run(deps, { kind: 'schedule', op: 'put', id, now, spec });
    return view(deps, id, existing ? 200 : created);
  };
  const action = (op: 'pause' | 'resume' | 'trigger'): AdminRoute => ({
    method: 'PATCH',
    path: `/schedules/:id/${op}`,
    handle: async (_req, { params }) => {
      const id = params.id ?? '';
      const record = await deps.store.getSchedule(schedulePartition(deps.partitioner, id), id);
      const target = op === 'trigger' && record ? resolve(deps, record.spec) : undefined;
      await run(deps, { kind: 'schedule', op, id, now: Date.now(), ...(target ? { target } : {}) });
      return view(deps, id, 200);
    },
  });
  return [
    {
      method: 'GET',
      path: '/schedules',
      handle: async () => {
        const all = [];
        for (let p = 0; p < deps.partitioner.partitions; p++) all.push(...(await deps.store.listSchedules(p)));
        all.sort((a, b) => (a.spec.id < b.spec.id ? -1 : 1));
        return json(200, { schedules: all.map(scheduleView) });
      },
    },
    { method: 'GET', path: '/schedules/:id', handle: (_req, { params }) => view(deps, params.id ?? '', 200) },
    {
      method: 'PUT',
      path: '/schedules/:id',
      handle: (req, { params }) => put(params.id ?? '', parseBody(req.body), 201),
    },
    {
      method: 'POST',
      path: '/schedules',
      handle: (req) => {
        const body = parseBody(req.body);
        if (typeof body.id !== 'string') throw fieldError('id', 'expected a string');
        return put(body.id, body, 201);
      },
    },
    {
      method: 'DELETE',
      path: '/schedules/:id',
      handle: async (_req, { params }) => {
        await run(deps, { kind: 'schedule', op: 'delete', id: params.id ?? '', now: Date.now() });
        return empty(202);
      },
    },
    action('pause'),
    action('resume'),
    action('trigger'),
    {
      method: 'PATCH',
      path: '/schedules/:id/backfill',
      handle: async (req, { params }) => {
        const id = params.id ?? '';
        const body = parseBody(req.body);
        const from = instant(body, 'from');
        const to = instant(body, 'to');
        if (to < from) throw fieldError('to', "must not be before 'from'");
        const record = await deps.store.getSchedule(schedulePartition(deps.partitioner, id), id);
        if (!record) throw notFound(id);
        const ticks = compileCadence(record.spec.cadence).between(from, to, MAX_BACKFILL_TICKS + 1);
        if (ticks.length > MAX_BACKFILL_TICKS) {
          throw fieldError('to', `the range holds more than ${MAX_BACKFILL_TICKS} ticks; backfill it in parts`);
        }
        const target = resolve(deps, record.spec);
        await run(deps, { kind: 'schedule', op: 'backfill', id, now: Date.now(), from, to, ...(target ? { target } : {}) });
        return json(200, { id, ticks: ticks.map((t) => new Date(t).toISOString()) });
      },
    },
  ];
}

/** Refuses a manifest whose handler metadata declares a bad schedule (an AdminError naming the field). */
export function checkDeclaredSchedules(manifest: EndpointManifest): void {
  const lookup = manifestLookup(manifest);
  for (const s of manifest.services) {
    for (const h of s.handlers) specOrError(() => scheduleFromMetadata(s.name, h.name, h.metadata ?? {}, lookup));
  }
}

/** Schedules declared in handler metadata: refused before registration if bad, applied after. */
export function scheduleRegistrationHooks(deps: ScheduleDeps): RegistrationHooks {
  return {
    check: checkDeclaredSchedules,
    async registered(result: RegisterResult) {
      const lookup = handlerLookup(deps);
      const declared = new Set<string>();
      for (const s of result.services) {
        for (const h of s.handlers.values()) {
          const spec = specOrError(() => scheduleFromMetadata(s.name, h.name, h.metadata, lookup));
          if (!spec) continue;
          declared.add(spec.id);
          await runAnywhere(deps, { kind: 'schedule', op: 'put', id: spec.id, now: Date.now(), spec });
        }
      }
      // A declaration removed from the code (or with its handler) removes its schedule;
      // schedules made through the admin API stay.
      const services = new Set(result.services.map((s) => s.name));
      for (let p = 0; p < deps.partitioner.partitions; p++) {
        for (const r of await deps.store.listSchedules(p)) {
          if (r.spec.declared && services.has(r.spec.target.service) && !declared.has(r.spec.id)) {
            await runAnywhere(deps, { kind: 'schedule', op: 'delete', id: r.spec.id, now: Date.now() });
          }
        }
      }
    },
  };
}

function resolve(deps: ScheduleDeps, spec: ScheduleSpec): ResolvedTarget | undefined {
  return deps.targets.resolveCallee(spec.target.service, spec.target.handler, spec.target.key);
}

function handlerLookup(deps: ScheduleDeps): HandlerKindLookup {
  return (service, handler) => {
    const r = deps.targets.resolve(service, handler, undefined);
    if (r === undefined) return 'no-service';
    if (r === 'no-handler') return 'no-handler';
    return { serviceType: r.serviceType, handlerType: r.handlerType };
  };
}

/** Whether a definition was refused for naming a service or handler the registry lacks. */
function unknownTarget(err: unknown): boolean {
  return err instanceof ScheduleSpecError && (err.field === 'target.service' || err.field === 'target.handler');
}

function manifestLookup(manifest: EndpointManifest): HandlerKindLookup {
  return (service, handler) => {
    const s = manifest.services.find((x) => x.name === service);
    const h = s?.handlers.find((x) => x.name === handler);
    if (!s || !h) return 'no-handler';
    return { serviceType: s.ty, handlerType: h.ty ?? (s.ty === 'VIRTUAL_OBJECT' ? 'EXCLUSIVE' : undefined) };
  };
}

async function run(deps: ScheduleDeps, command: ScheduleCommand): Promise<void> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(command.id)) throw notFound(command.id);
  const waiter = deps.responses.register();
  try {
    await deps.submit(schedulePartition(deps.partitioner, command.id), {
      ...command,
      sink: { kind: 'ingress', node: deps.nodeId, requestId: waiter.requestId },
    });
  } catch (err) {
    waiter.cancel();
    if (err instanceof NotLeaderError) throw err;
    throw new AdminError(AdminErrorCode.Internal, 503, `cannot reach the partition: ${err instanceof Error ? err.message : String(err)}`);
  }
  const answer = await waiter.answer;
  if (answer.kind === 'op' && answer.outcome === 'not-found') throw notFound(command.id);
}

/**
 * A registration applies the schedules its handlers declare on every schedule's partition,
 * wherever it is led (a registration is one request; it is not forwarded as a whole). Here the
 * command goes to this node's log; for a partition another node leads it is appended there,
 * without an answer: `put` and `delete` of a declared schedule have nothing to report.
 */
async function runAnywhere(deps: ScheduleDeps, command: ScheduleCommand): Promise<void> {
  const partition = schedulePartition(deps.partitioner, command.id);
  const deadline = Date.now() + deps.patienceMs;
  for (;;) {
    try {
      return await run(deps, command);
    } catch (err) {
      if (!(err instanceof NotLeaderError)) throw err;
    }
    try {
      return await deps.deliver(partition, command);
    } catch (err) {
      if (Date.now() >= deadline) {
        throw new AdminError(AdminErrorCode.Internal, 503, `cannot reach the leader of partition ${partition}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function view(deps: ScheduleDeps, id: string, status: number): Promise<AdminResponse> {
  const record = await deps.store.getSchedule(schedulePartition(deps.partitioner, id), id);
  if (!record) throw notFound(id);
  return json(status, scheduleView(record));
}

function specOrError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ScheduleSpecError) throw fieldError(err.field, err.message);
    throw err;
  }
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

function instant(body: Record<string, unknown>, field: string): number {
  const v = body[field];
  const t = typeof v === 'string' ? Date.parse(v) : typeof v === 'number' ? v : NaN;
  if (!Number.isFinite(t) || t < 0 || t > LATEST_INSTANT) {
    throw fieldError(field, 'expected an ISO-8601 time or epoch milliseconds, from 1970 to 9999');
  }
  return t;
}

function fieldError(field: string, reason: string): AdminError {
  return new AdminError(AdminErrorCode.InvalidField, 400, `The request field '${field}' is invalid. Reason: ${reason}`);
}

function notFound(id: string): AdminError {
  return new AdminError(AdminErrorCode.NotFound, 404, `schedule '${id}' not found`);
}
