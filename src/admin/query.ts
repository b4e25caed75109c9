import type { QueryEngine, QueryResult } from '../store/index.ts';
import { QueryError, QueryErrorKind } from '../store/index.ts';
import { ARROW_STREAM, toArrowStream } from './arrow.ts';
import { parseJsonObject } from './body.ts';
import { AdminError, AdminErrorCode, invalidField } from './errors.ts';
import { json } from './http.ts';
import type { AdminResponse } from './http.ts';
import type { AdminRoute } from './router.ts';

const STATUS_OF: Record<QueryErrorKind, number> = {
  [QueryErrorKind.Invalid]: 400,
  [QueryErrorKind.TooManyRows]: 400,
  [QueryErrorKind.Timeout]: 400,
  [QueryErrorKind.Unavailable]: 503,
  [QueryErrorKind.Unsupported]: 501,
};

const CODE_OF: Record<QueryErrorKind, AdminErrorCode> = {
  [QueryErrorKind.Invalid]: AdminErrorCode.InvalidQuery,
  [QueryErrorKind.TooManyRows]: AdminErrorCode.InvalidQuery,
  [QueryErrorKind.Timeout]: AdminErrorCode.InvalidQuery,
  [QueryErrorKind.Unavailable]: AdminErrorCode.Internal,
  [QueryErrorKind.Unsupported]: AdminErrorCode.NotImplemented,
};

/** Whether the client asked for JSON rather than Arrow (Restate's CLI sends `*\/*` for Arrow). */
function wantsJson(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  const types = accept.split(',').map((t) => (t.split(';')[0] ?? '').trim().toLowerCase());
  return types.includes('application/json') && !types.includes(ARROW_STREAM);
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Rows as Restate's JSON answer has them: objects by column name, NULLs left out, bytes as hex. */
export function toJsonRows(result: QueryResult): Record<string, unknown>[] {
  return result.rows.map((row) => {
    const out: Record<string, unknown> = {};
    result.columns.forEach((c, k) => {
      const v = row[k];
      if (v === null || v === undefined) return;
      out[c.name] = v instanceof Uint8Array ? hex(v) : typeof v === 'bigint' ? Number(v) : v;
    });
    return out;
  });
}

/**
 * `POST /query` (`{"query": "<sql>"}`): SQL over Restate's introspection tables. Answers
 * `{"rows": […]}` as `application/json` when the client accepts JSON, an Arrow IPC stream
 * otherwise. A query that does not parse, does not read, or runs too long gets a 400 with the
 * database's message; a store without SQL introspection answers 501;
 * nothing a query says can change the store.
 */
export function queryRoutes(engine: QueryEngine): AdminRoute[] {
  return [
    {
      method: 'POST',
      path: '/query',
      async handle(req): Promise<AdminResponse> {
        const body = parseJsonObject(req.body);
        if (typeof body.query !== 'string' || body.query.trim() === '') throw invalidField('query', 'missing or not a string');
        let result: QueryResult;
        try {
          result = await engine.query(body.query);
        } catch (err) {
          if (!(err instanceof QueryError)) throw err;
          throw new AdminError(CODE_OF[err.kind], STATUS_OF[err.kind], `Query error: ${err.message}`, undefined, { cause: err });
        }
        if (wantsJson(req.headers.accept)) return json(200, { rows: toJsonRows(result) });
        return { status: 200, headers: { 'content-type': ARROW_STREAM }, body: toArrowStream(result) };
      },
    },
  ];
}
