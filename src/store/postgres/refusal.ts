import { StoreRefusal, StoreUnavailableError } from '../errors.ts';
import { ConnectionLostError } from './db.ts';

/**
 * SQLSTATE classes and codes that mean the database cannot take writes now, not that a command
 * is bad: connection exceptions (08), insufficient resources (53: disk full, out of memory, too
 * many connections), an operator or crash shutdown (57P01-57P03), system I/O errors (58), a
 * read-only server (25006).
 */
const REFUSING_SQLSTATE = /^(08|53|58)|^57P0[123]$|^25006$/;

/** Error codes of the `postgres` client and of Node's sockets for a database out of reach. */
const REFUSING_CLIENT = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** SQLSTATE of a full disk. */
const DISK_FULL = '53100';

/** The StoreUnavailableError for a driver error that refuses writes; undefined for others. */
export function refusal(err: unknown): StoreUnavailableError | undefined {
  if (err instanceof StoreUnavailableError) return err;
  if (err instanceof ConnectionLostError) return new StoreUnavailableError(StoreRefusal.Failing, err.message, { cause: err });
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  const sqlstate = /^[0-9A-Z]{5}$/.test(code) && (err as { name?: unknown }).name === 'PostgresError';
  if (sqlstate ? !REFUSING_SQLSTATE.test(code) : !REFUSING_CLIENT.has(code)) return undefined;
  const reason = code === DISK_FULL ? StoreRefusal.DiskFull : StoreRefusal.Failing;
  return new StoreUnavailableError(reason, `${code}: ${(err as Error).message}`, { cause: err });
}
