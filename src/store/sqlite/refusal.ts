import { StoreRefusal, StoreUnavailableError } from '../errors.ts';

/** SQLite result codes that mean the database cannot take writes now, not that a command is bad. */
const REFUSING = /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|NOMEM|BUSY|LOCKED|PROTOCOL)(_|$)/;

/** The StoreUnavailableError for a driver error that refuses writes; undefined for others. */
export function refusal(err: unknown): StoreUnavailableError | undefined {
  if (err instanceof StoreUnavailableError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !REFUSING.test(code)) return undefined;
  const reason = code === 'SQLITE_FULL' ? StoreRefusal.DiskFull : StoreRefusal.Failing;
  return new StoreUnavailableError(reason, `${code}: ${(err as Error).message}`, { cause: err });
}
