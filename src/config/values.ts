import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { LOG_FORMATS, LOG_LEVELS, ON_MAX_ATTEMPTS } from './config.ts';
import type { BindAddress, BrokerCluster } from './config.ts';

// Value parsers shared by flags and environment variables. Each schema accepts the raw string
// (or number/boolean from a programmatic caller) and yields the typed value; `expected` is the
// phrase used in the error message.

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `500`, `500ms`, `60s`, `1m`, `1h30m`, `1d` into milliseconds; undefined if malformed. */
export function parseDurationMs(raw: string): number | undefined {
  const text = raw.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const re = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * (DURATION_UNITS_MS[m[2] as string] as number);
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== text.length) return undefined;
  return Math.round(total);
}

const BYTE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1000,
  kib: 1024,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

/** Parses `1048576`, `512KiB`, `10MiB`, `1MB` into bytes; undefined if malformed. */
export function parseBytes(raw: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(raw.trim());
  if (!m) return undefined;
  const unit = BYTE_UNITS[(m[2] as string).toLowerCase() || 'b'];
  if (unit === undefined) return undefined;
  return Math.round(Number(m[1]) * unit);
}

/** Parses `host:port` (IPv6 as `[::1]:port`); the port may be 0 for an ephemeral port. */
export function parseBind(raw: string): BindAddress | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(raw.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: (m[1] ?? m[2]) as string, port };
}

/** Accepts a `postgres://` or `postgresql://` URL with a host; undefined otherwise. */
export function parseStoreUrl(raw: string): string | undefined {
  const text = raw.trim();
  try {
    const url = new URL(text);
    return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== '' ? text : undefined;
  } catch {
    return undefined;
  }
}

/** Fewest characters a bearer token may have: a short one is guessable. */
export const MIN_TOKEN_LENGTH = 16;

/**
 * Parses a list of bearer tokens separated by commas, whitespace or newlines (`#` starts a
 * comment line in a file). Each must be at least {@link MIN_TOKEN_LENGTH} visible ASCII
 * characters; undefined if any is not.
 */
export function parseTokens(raw: string): string[] | undefined {
  const tokens = raw
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .flatMap((line) => line.split(/[\s,]+/))
    .filter((t) => t !== '');
  if (tokens.some((t) => t.length < MIN_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(t))) return undefined;
  return tokens;
}

/**
 * Parses broker clusters, `name=url` entries separated by whitespace or `;`:
 * `main=nats://127.0.0.1:4222 rabbit=amqp://guest:guest@127.0.0.1:5672 events=kafka://b1:9092,b2:9092`.
 * Names are unique, letters, digits, `-` and `_`; undefined if any entry is malformed.
 */
export function parseBrokerClusters(raw: string): BrokerCluster[] | undefined {
  const clusters: BrokerCluster[] = [];
  for (const entry of raw.split(/[\s;]+/).filter((e) => e !== '')) {
    const m = /^([A-Za-z0-9_-]+)=([a-z]+):\/\/(.+)$/.exec(entry);
    if (!m) return undefined;
    const [, name, scheme, rest] = m as unknown as [string, string, string, string];
    if (clusters.some((c) => c.name === name)) return undefined;
    if (scheme === 'nats' || scheme === 'tls') {
      clusters.push({ name, kind: 'nats', servers: rest.split(',').map((s) => `${scheme}://${s}`) });
    } else if (scheme === 'amqp' || scheme === 'amqps') {
      clusters.push({ name, kind: 'rabbitmq', servers: [`${scheme}://${rest}`] });
    } else if (scheme === 'kafka') {
      const brokers = rest.split(',');
      if (brokers.some((b) => !/^[A-Za-z0-9.-]+:\d{1,5}$/.test(b))) return undefined;
      clusters.push({ name, kind: 'kafka', servers: brokers });
    } else {
      return undefined;
    }
  }
  return clusters;
}

type Raw = string | number | boolean;

function fromText<T>(parse: (text: string) => T | undefined): z.ZodType<T, z.ZodTypeDef, Raw> {
  return z.union([z.string(), z.number(), z.boolean()]).transform((value, ctx) => {
    const parsed = parse(String(value));
    if (parsed === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom });
      return z.NEVER;
    }
    return parsed;
  });
}

/** A value kind: how to parse it and how to describe what was expected. */
export interface ValueKind<T> {
  schema: z.ZodType<T, z.ZodTypeDef, Raw>;
  expected: string;
  /** How `--help` names the value (`duration`); undefined for an on/off switch without a value. */
  placeholder: string | undefined;
  /** A secret: error messages must not repeat the value. */
  secret?: boolean;
}

/** More worker processes than this is a typo, not a machine. */
const MAX_WORKERS = 256;

const integer = (min: number, max: number): ValueKind<number> => ({
  schema: fromText((t) => (/^\d+$/.test(t.trim()) ? Number(t) : undefined)).pipe(z.number().int().min(min).max(max)),
  expected: `an integer between ${min} and ${max}`,
  placeholder: 'n',
});

/** The value kinds used by the configuration. */
export const kinds = {
  text: { schema: fromText((t) => (t.trim() === '' ? undefined : t)), expected: 'a non-empty string', placeholder: 'text' },
  path: { schema: fromText((t) => (t.trim() === '' ? undefined : t)), expected: 'a non-empty path', placeholder: 'path' },
  bind: { schema: fromText(parseBind), expected: 'host:port', placeholder: 'host:port' },
  storeUrl: {
    schema: fromText(parseStoreUrl),
    expected: 'a postgres://user@host:port/database URL',
    placeholder: 'url',
    // The URL may carry a password.
    secret: true,
  },
  schemaName: {
    schema: fromText((t) => (/^[a-z_][a-z0-9_]{0,62}$/.test(t.trim()) ? t.trim() : undefined)),
    expected: 'a lower-case SQL identifier (letters, digits, _; at most 63)',
    placeholder: 'name',
  },
  nodeName: {
    schema: fromText((t) => (/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(t.trim()) ? t.trim() : undefined)),
    expected: 'a node name (letters, digits, . _ -; at most 63)',
    placeholder: 'name',
  },
  partitions: integer(1, 1024),
  workers: {
    // `auto` is resolved here, once: one worker per core this process may run on.
    schema: fromText((t) => {
      const s = t.trim().toLowerCase();
      if (s === 'auto') return availableParallelism();
      return /^\d+$/.test(s) ? Number(s) : undefined;
    }).pipe(z.number().int().min(1).max(MAX_WORKERS)),
    expected: `an integer between 1 and ${MAX_WORKERS}, or "auto" (one per core)`,
    placeholder: 'n|auto',
  },
  positiveInt: integer(1, Number.MAX_SAFE_INTEGER),
  logLevel: {
    schema: fromText((t) => t.trim().toLowerCase()).pipe(z.enum(LOG_LEVELS)),
    expected: `one of ${LOG_LEVELS.join('|')}`,
    placeholder: 'level',
  },
  httpUrl: {
    schema: fromText((t) => {
      try {
        const url = new URL(t.trim());
        return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '' ? url.toString() : undefined;
      } catch {
        return undefined;
      }
    }),
    expected: 'an http:// or https:// URL without credentials',
    placeholder: 'url',
  },
  logFormat: {
    schema: fromText((t) => t.trim().toLowerCase()).pipe(z.enum(LOG_FORMATS)),
    expected: `one of ${LOG_FORMATS.join('|')}`,
    placeholder: 'json|pretty',
  },
  duration: {
    schema: fromText(parseDurationMs),
    expected: 'a duration in milliseconds or with a unit (500ms, 60s, 1m, 1h)',
    placeholder: 'duration',
  },
  positiveDuration: {
    schema: fromText(parseDurationMs).pipe(z.number().positive()),
    expected: 'a positive duration (500ms, 60s, 1m, 1h)',
    placeholder: 'duration',
  },
  bytes: {
    schema: fromText(parseBytes).pipe(z.number().int().positive()),
    expected: 'a positive size in bytes (1048576, 512KiB, 10MiB)',
    placeholder: 'size',
  },
  factor: {
    schema: fromText((t) => (/^\d+(\.\d+)?$/.test(t.trim()) ? Number(t) : undefined)).pipe(z.number().min(1)),
    expected: 'a number >= 1',
    placeholder: 'number',
  },
  maxAttempts: {
    schema: fromText((t) => {
      const s = t.trim().toLowerCase();
      if (s === 'unlimited' || s === 'infinite') return null;
      return /^\d+$/.test(s) && Number(s) >= 1 ? Number(s) : undefined;
    }),
    expected: 'a positive integer or "unlimited"',
    placeholder: 'n|unlimited',
  },
  onMaxAttempts: {
    schema: fromText((t) => t.trim().toLowerCase()).pipe(z.enum(ON_MAX_ATTEMPTS)),
    expected: `one of ${ON_MAX_ATTEMPTS.join('|')}`,
    placeholder: 'pause|kill',
  },
  tokens: {
    schema: fromText(parseTokens),
    expected: `bearer tokens of at least ${MIN_TOKEN_LENGTH} visible characters, separated by commas or spaces`,
    placeholder: 'tokens',
    secret: true,
  },
  brokerClusters: {
    schema: fromText(parseBrokerClusters),
    expected: 'name=url entries separated by spaces (url: nats://host:port, amqp://user:pass@host:port, kafka://host:port,host:port), unique names',
    placeholder: 'clusters',
    // AMQP URLs carry passwords.
    secret: true,
  },
  switch: {
    schema: fromText((t) => {
      const s = t.trim().toLowerCase();
      if (s === 'true' || s === '1' || s === 'yes') return true;
      if (s === 'false' || s === '0' || s === 'no') return false;
      return undefined;
    }),
    expected: 'true or false',
    placeholder: undefined,
  },
} satisfies Record<string, ValueKind<unknown>>;
