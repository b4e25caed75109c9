import { parseFriendlyDuration } from '../admin/index.ts';
import type { HandlerType, ServiceType } from '../types/index.ts';
import { CadenceError, compileCadence } from './cadence.ts';
import {
  MAX_CATCH_UP_LIMIT,
  SCHEDULE_METADATA_KEY,
  type CatchUpPolicy,
  type OverlapPolicy,
  type ScheduleCadence,
  type ScheduleSpec,
  type ScheduleTarget,
} from './model.ts';

/** A schedule definition that cannot be accepted; `field` names what is wrong. */
export class ScheduleSpecError extends Error {
  override readonly name = 'ScheduleSpecError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** What spec validation needs to know of a target handler; undefined when unknown. */
export type HandlerKindLookup = (
  service: string,
  handler: string,
) => { serviceType: ServiceType; handlerType: HandlerType } | 'no-service' | 'no-handler';

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const OVERLAPS: readonly OverlapPolicy[] = ['skip', 'buffer-one', 'allow-all'];
const CATCH_UPS: readonly CatchUpPolicy[] = ['none', 'last', 'all'];
const TICK_PLACEHOLDER = /\{tick(_ms)?\}/;

/**
 * Parses and validates a schedule definition from the admin API's JSON body:
 * `{ target: {service, handler, key?}, cron?, timezone?, every?, overlap?, catch_up?,
 * catch_up_limit?, input? }`. `now` anchors a fixed interval that names no anchor.
 */
export function parseScheduleSpec(id: string, body: Record<string, unknown>, now: number, lookup: HandlerKindLookup): ScheduleSpec {
  checkId(id);
  const t = body.target;
  if (t === null || typeof t !== 'object' || Array.isArray(t)) throw new ScheduleSpecError('target', 'expected an object {service, handler, key?}');
  const target = t as Record<string, unknown>;
  const service = requiredString(target, 'service', 'target.service');
  const handler = requiredString(target, 'handler', 'target.handler');
  const key = optionalString(target, 'key', 'target.key');

  const cron = optionalString(body, 'cron', 'cron');
  const every = optionalString(body, 'every', 'every');
  const timezone = optionalString(body, 'timezone', 'timezone');
  if ((cron === undefined) === (every === undefined)) throw new ScheduleSpecError('cron', "give exactly one of 'cron' and 'every'");
  let cadence: ScheduleCadence;
  if (cron !== undefined) {
    cadence = { kind: 'cron', expression: cron.trim(), timezone: timezone ?? 'UTC' };
  } else {
    if (timezone !== undefined) throw new ScheduleSpecError('timezone', "a time zone applies to 'cron' only");
    const everyMs = parseFriendlyDuration(every ?? '');
    if (everyMs === undefined) throw new ScheduleSpecError('every', `'${every}' is not a duration (e.g. 30s, 5m, 1h)`);
    cadence = { kind: 'every', everyMs, anchorMs: now };
  }
  checkCadence(cadence);

  const overlap = oneOf(body, 'overlap', OVERLAPS, 'skip');
  const catchUp = oneOf(body, 'catch_up', CATCH_UPS, 'last');
  const limitRaw = body.catch_up_limit;
  let catchUpLimit = 10;
  if (limitRaw !== undefined && limitRaw !== null) {
    if (typeof limitRaw !== 'number' || !Number.isInteger(limitRaw) || limitRaw < 1 || limitRaw > MAX_CATCH_UP_LIMIT) {
      throw new ScheduleSpecError('catch_up_limit', `expected a whole number from 1 to ${MAX_CATCH_UP_LIMIT}`);
    }
    catchUpLimit = limitRaw;
  }
  const input = body.input === undefined ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(body.input));

  const spec: ScheduleSpec = {
    id,
    target: { service, handler, key },
    cadence,
    overlap,
    catchUp,
    catchUpLimit,
    input,
    declared: false,
  };
  checkTarget(spec.target, lookup);
  return spec;
}

/**
 * The schedule a handler declares in its metadata (`endure.schedule`: a cron expression, or
 * `every <duration>`; optional `endure.schedule.timezone`, `.overlap`, `.catch_up`, `.key`),
 * or undefined when it declares none. Its id is `<service>.<handler>`.
 */
export function scheduleFromMetadata(
  service: string,
  handler: string,
  metadata: Readonly<Record<string, string>>,
  lookup: HandlerKindLookup,
): ScheduleSpec | undefined {
  const value = metadata[SCHEDULE_METADATA_KEY];
  if (value === undefined) return undefined;
  const m = (name: string) => metadata[`${SCHEDULE_METADATA_KEY}.${name}`];
  const body: Record<string, unknown> = { target: { service, handler, key: m('key') }, overlap: m('overlap'), catch_up: m('catch_up') };
  const every = /^every\s+(.+)$/i.exec(value.trim());
  if (every) body.every = every[1];
  else {
    body.cron = value;
    body.timezone = m('timezone');
  }
  // A declared interval is anchored at the epoch so that registering again keeps the same ticks.
  const spec = parseScheduleSpec(`${service}.${handler}`, body, 0, lookup);
  return { ...spec, declared: true };
}

/** Renders a key template for one tick: `{schedule}`, `{tick}` (ISO-8601), `{tick_ms}`. */
export function renderKey(template: string, scheduleId: string, tick: number): string {
  return template
    .replaceAll('{schedule}', scheduleId)
    .replaceAll('{tick_ms}', String(tick))
    .replaceAll('{tick}', new Date(tick).toISOString());
}

function checkId(id: string): void {
  if (!ID.test(id)) {
    throw new ScheduleSpecError('id', `'${id}' is not a schedule id: use 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
}

function checkCadence(cadence: ScheduleCadence): void {
  try {
    const c = compileCadence(cadence);
    if (cadence.kind === 'cron' && c.next(0) === undefined) throw new CadenceError('the expression never matches');
  } catch (err) {
    if (!(err instanceof CadenceError)) throw err;
    const field = cadence.kind === 'every' ? 'every' : /time ?zone/i.test(err.message) ? 'timezone' : 'cron';
    throw new ScheduleSpecError(field, err.message);
  }
}

function checkTarget(target: ScheduleTarget, lookup: HandlerKindLookup): void {
  const kind = lookup(target.service, target.handler);
  if (kind === 'no-service') throw new ScheduleSpecError('target.service', `service '${target.service}' not found`);
  if (kind === 'no-handler') throw new ScheduleSpecError('target.handler', `service '${target.service}' has no handler '${target.handler}'`);
  if (kind.serviceType === 'SERVICE') {
    if (target.key !== undefined) throw new ScheduleSpecError('target.key', `'${target.service}' is a service: it takes no key`);
    return;
  }
  if (target.key === undefined) {
    const what = kind.serviceType === 'WORKFLOW' ? 'a workflow id template, e.g. "report-{tick}"' : 'an object key';
    throw new ScheduleSpecError('target.key', `'${target.service}' needs ${what}`);
  }
  if (kind.serviceType === 'WORKFLOW' && kind.handlerType === 'WORKFLOW' && !TICK_PLACEHOLDER.test(target.key)) {
    throw new ScheduleSpecError('target.key', 'a workflow runs once per id: the id template must contain {tick} or {tick_ms}');
  }
}

function requiredString(obj: Record<string, unknown>, name: string, field: string): string {
  const v = obj[name];
  if (typeof v !== 'string' || v === '') throw new ScheduleSpecError(field, 'expected a non-empty string');
  return v;
}

function optionalString(obj: Record<string, unknown>, name: string, field: string): string | undefined {
  const v = obj[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ScheduleSpecError(field, `expected a string, got ${JSON.stringify(v)}`);
  return v;
}

function oneOf<T extends string>(obj: Record<string, unknown>, name: string, allowed: readonly T[], fallback: T): T {
  const v = obj[name];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new ScheduleSpecError(name, `expected one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}
