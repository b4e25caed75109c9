import { IngressError } from './errors.ts';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Days in the longest delay a send may ask for. */
export const MAX_DELAY_DAYS = 3650;

/**
 * The longest delay a send may ask for: 3650 days, about ten years. A longer one is almost
 * certainly a mistake, and would keep an invocation scheduled for longer than any deployment
 * lives; it is refused rather than parked forever.
 */
export const MAX_DELAY_MS = MAX_DELAY_DAYS * 86_400_000;

const FORMS = 'expected an ISO 8601 duration (PT10S, P1DT2H) or a duration with units (500ms, 10s, 1m30s, 2h, 1d)';

/**
 * Parses the `delay` query parameter: an ISO 8601 duration (`PT10S`, `P1DT2H`) or a short
 * human form (`10s`, `1m30s`, `500ms`). Returns milliseconds, at most {@link MAX_DELAY_MS};
 * anything else is a 400.
 */
export function parseDelay(text: string): number {
  const ms = parseDelayText(text);
  if (ms === undefined || !Number.isFinite(ms)) {
    throw new IngressError(400, `bad delay query parameter '${text}': ${FORMS}`);
  }
  if (ms > MAX_DELAY_MS) {
    throw new IngressError(400, `bad delay query parameter '${text}': the delay must be at most ${MAX_DELAY_DAYS} days`);
  }
  return ms;
}

function parseDelayText(text: string): number | undefined {
  const iso = /^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i.exec(text);
  if (iso && text.length > 1 && !/T$/i.test(text)) {
    const [, d, h, m, s] = iso;
    return Math.round(Number(d ?? 0) * 86_400_000 + Number(h ?? 0) * 3_600_000 + Number(m ?? 0) * 60_000 + Number(s ?? 0) * 1000);
  }
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)/g)];
  if (parts.length > 0 && parts.map((p) => p[0]).join('') === text.replace(/\s+/g, '')) {
    return Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * (UNIT_MS[p[2]!] ?? 0), 0));
  }
  return undefined;
}
