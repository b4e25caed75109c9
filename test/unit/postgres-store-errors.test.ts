// What the PostgreSQL backend tells its callers when it cannot do what they ask: a database that
// refuses writes (out of reach, disk full) is a StoreUnavailableError and never a verdict on a
// command.
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { StoreRefusal, StoreUnavailableError } from '../../src/store/index.ts';
import { ConnectionLostError } from '../../src/store/postgres/db.ts';
import { refusal } from '../../src/store/postgres/refusal.ts';

/** An error as the `postgres` client raises it for a statement the server refused. */
function serverError(code: string, message: string): Error {
  return new postgres.PostgresError({ code, message, severity: 'ERROR' } as unknown as string);
}

describe('PostgreSQL errors that mean the store refuses writes', () => {
  it('a full disk is a refusal for that reason', () => {
    const refused = refusal(serverError('53100', 'could not extend file "base/16384/2619": No space left on device'));
    expect(refused).toBeInstanceOf(StoreUnavailableError);
    expect(refused?.reason).toBe(StoreRefusal.DiskFull);
    expect(refused?.message).toMatch(/disk is full.*53100/);
  });

  it('lost connections, shutdowns, I/O errors and a read-only server are refusals', () => {
    for (const code of ['08006', '08003', '57P01', '57P02', '57P03', '58030', '53200', '53300', '25006']) {
      expect(refusal(serverError(code, 'x'))?.reason, code).toBe(StoreRefusal.Failing);
    }
    expect(refusal(new ConnectionLostError())).toBeInstanceOf(StoreUnavailableError);
    expect(refusal(Object.assign(new Error('write CONNECTION_CLOSED 127.0.0.1:5432'), { code: 'CONNECTION_CLOSED' }))).toBeInstanceOf(StoreUnavailableError);
    expect(refusal(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBeInstanceOf(StoreUnavailableError);
  });

  it('a statement the data refuses is not a refusal of the store', () => {
    expect(refusal(serverError('23505', 'duplicate key value violates unique constraint "log_pkey"'))).toBeUndefined();
    expect(refusal(serverError('22P02', 'invalid input syntax'))).toBeUndefined();
    expect(refusal(new Error('a handler bug'))).toBeUndefined();
    expect(refusal(undefined)).toBeUndefined();
  });
});
