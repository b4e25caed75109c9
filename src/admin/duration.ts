const UNITS: [string, number][] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
];

/**
 * Formats milliseconds the way Restate's admin API prints durations (jiff's compact friendly
 * format over days): `1d`, `10m`, `1h 30m`, `500ms`, `0s`.
 */
export function friendlyDuration(ms: number): string {
  let rest = Math.max(0, Math.round(ms));
  if (rest === 0) return '0s';
  const parts: string[] = [];
  for (const [unit, size] of UNITS) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      parts.push(`${n}${unit}`);
      rest -= n * size;
    }
  }
  return parts.join(' ');
}

const NAMED_UNITS_MS: Record<string, number> = {};
for (const [size, names] of [
  [1, ['ms', 'msec', 'msecs', 'millisecond', 'milliseconds']],
  [1000, ['s', 'sec', 'secs', 'second', 'seconds']],
  [60_000, ['m', 'min', 'mins', 'minute', 'minutes']],
  [3_600_000, ['h', 'hr', 'hrs', 'hour', 'hours']],
  [86_400_000, ['d', 'day', 'days']],
  [604_800_000, ['w', 'week', 'weeks']],
] as const) {
  for (const name of names) NAMED_UNITS_MS[name] = size;
}

/**
 * Parses a duration as the admin API accepts it: the friendly format (`5 hours`, `1h 30m`,
 * `10m`, `500ms`) or ISO 8601 (`PT5H`, `P1DT2H`). Returns milliseconds, or undefined.
 */
export function parseFriendlyDuration(raw: string): number | undefined {
  const text = raw.trim();
  const iso = /^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i.exec(text);
  if (iso !== null && text.length > 1 && !/T$/i.test(text)) {
    const [, w, d, h, m, s] = iso;
    const n = (v: string | undefined) => (v === undefined ? 0 : Number(v));
    return Math.round(n(w) * 604_800_000 + n(d) * 86_400_000 + n(h) * 3_600_000 + n(m) * 60_000 + n(s) * 1000);
  }
  const re = /(\d+(?:\.\d+)?)\s*([a-z]+)[\s,]*/giy;
  let total = 0;
  let end = 0;
  for (let match = re.exec(text); match !== null; match = re.exec(text)) {
    const unit = NAMED_UNITS_MS[(match[2] as string).toLowerCase()];
    if (unit === undefined) return undefined;
    total += Number(match[1]) * unit;
    end = re.lastIndex;
  }
  if (end === 0 || end !== text.length) return /^\d+$/.test(text) && text === '0' ? 0 : undefined;
  return Math.round(total);
}
