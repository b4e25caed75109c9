import { Binary, Bool, Field, Float64, Int64, RecordBatch, Schema, Struct, Table, Utf8, makeBuilder, makeData, tableToIPC } from 'apache-arrow';
import type { DataType } from 'apache-arrow';
import type { QueryColumnType, QueryResult, QueryValue } from '../store/index.ts';

/** The media type of an Arrow IPC stream. */
export const ARROW_STREAM = 'application/vnd.apache.arrow.stream';

function arrowType(t: QueryColumnType): DataType {
  switch (t) {
    case 'Int64':
      return new Int64();
    case 'Float64':
      return new Float64();
    case 'Binary':
      return new Binary();
    case 'Boolean':
      return new Bool();
    case 'Utf8':
      return new Utf8();
  }
}

function convert(t: QueryColumnType, v: QueryValue): unknown {
  if (v === null) return null;
  switch (t) {
    case 'Int64':
      return typeof v === 'bigint' ? v : BigInt(v as number);
    case 'Float64':
      return Number(v);
    case 'Binary':
      return v instanceof Uint8Array ? v : new TextEncoder().encode(String(v));
    case 'Boolean':
      return v === true || v === 1;
    case 'Utf8':
      return v instanceof Uint8Array ? Buffer.from(v).toString('hex') : String(v);
  }
}

/**
 * A query result as an Arrow IPC stream: one record batch, the columns typed as the result
 * says (counts are Int64, which Restate's CLI requires). Columns may share a name.
 */
export function toArrowStream(result: QueryResult): Uint8Array {
  const fields = result.columns.map((c) => new Field(c.name, arrowType(c.type), true));
  const children = result.columns.map((c, k) => {
    const builder = makeBuilder({ type: arrowType(c.type), nullValues: [null] });
    for (const row of result.rows) builder.append(convert(c.type, row[k] ?? null) as never);
    return builder.finish().flush();
  });
  const schema = new Schema(fields);
  const data = makeData({ type: new Struct(fields), length: result.rows.length, nullCount: 0, children });
  return tableToIPC(new Table([new RecordBatch(schema, data)]), 'stream');
}
