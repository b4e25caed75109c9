import { Cron } from 'croner';
import type { ScheduleCadence } from './model.ts';

/** The longest fixed interval. */
const MAX_INTERVAL_MS = 366 * 86_400_000;

/** A cadence that cannot be compiled: bad cron expression, unknown time zone, bad interval. */
export class CadenceError extends Error {
  override readonly name = 'CadenceError';
}

/** Tick arithmetic of one cadence. Pure: the times come from the caller. */
export interface CompiledCadence {
  /** The first tick strictly after `afterMs`; undefined if the cadence has no further tick. */
  next(afterMs: number): number | undefined;
  /** The latest `max` ticks with fromMs <= tick <= toMs, oldest first. */
  between(fromMs: number, toMs: number, max: number): number[];
}

/**
 * Compiles a cadence with croner (zero dependencies, seconds optional, IANA time zones through
 * Intl with DST gaps and repeats resolved) or, for fixed intervals, plain arithmetic.
 */
export function compileCadence(cadence: ScheduleCadence): CompiledCadence {
  return cadence.kind === 'every' ? everyCadence(cadence.everyMs, cadence.anchorMs) : cronCadence(cadence.expression, cadence.timezone);
}

function everyCadence(everyMs: number, anchorMs: number): CompiledCadence {
  if (!Number.isInteger(everyMs) || everyMs < 1000 || everyMs > MAX_INTERVAL_MS) {
    throw new CadenceError('an interval must be a whole number of milliseconds from 1s to 366 days');
  }
  const atOrBefore = (t: number) => anchorMs + Math.floor((t - anchorMs) / everyMs) * everyMs;
  return {
    next: (after) => atOrBefore(after) + everyMs,
    between(from, to, max) {
      const out: number[] = [];
      for (let t = atOrBefore(to); t >= from && out.length < max; t -= everyMs) out.push(t);
      return out.reverse();
    },
  };
}

function cronCadence(expression: string, timezone: string): CompiledCadence {
  let cron: Cron;
  try {
    cron = new Cron(expression, { mode: '5-or-6-parts', timezone });
    // Time zones are only checked when a date is computed.
    cron.nextRun(new Date(0));
  } catch (err) {
    throw new CadenceError(cleanCronMessage(err));
  }
  return {
    next(after) {
      return cron.nextRun(new Date(after))?.getTime();
    },
    between(from, to, max) {
      // previousRuns looks strictly before its reference.
      return cron
        .previousRuns(max, new Date(to + 1))
        .map((d) => d.getTime())
        .filter((t) => t >= from)
        .reverse();
    },
  };
}

function cleanCronMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // Keep croner's reason, without its class-name prefix and its nested copies.
  return message.replace(/^Cron\w*:\s*/, '').replace(/\.? Original error:.*$/s, '');
}
