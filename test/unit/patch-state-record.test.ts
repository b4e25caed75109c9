import { create, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { decodeCommand, encodeCommand } from '../../src/log/index.ts';
import * as pb from '../../src/protocol/generated/endure/records_pb.ts';
import type { Command } from '../../src/worker/index.ts';

// The admin API's state modification travels through the log as a `patch-state` command: it
// must survive the record format exactly, in the bytes records.proto describes.

const enc = new TextEncoder();

describe('patch-state log records', () => {
  const full: Command = {
    kind: 'patch-state',
    service: 'Counter',
    key: 'alice',
    state: [
      [enc.encode('total'), enc.encode('42')],
      [enc.encode('empty'), new Uint8Array(0)],
    ],
    sink: { kind: 'ingress', node: 'n1', requestId: 7 },
  };

  it('keep every field, with and without a sink and with no entries', () => {
    expect(decodeCommand(encodeCommand(full))).toStrictEqual({ command: full });
    const bare: Command = { kind: 'patch-state', service: 'Counter', key: '', state: [] };
    expect(decodeCommand(encodeCommand(bare))).toStrictEqual({ command: bare });
  });

  it('are the bytes of message LogEntry.patch_state behind the format byte', () => {
    const expected = toBinary(
      pb.LogEntrySchema,
      create(pb.LogEntrySchema, {
        command: {
          case: 'patchState',
          value: {
            service: 'Counter',
            key: 'alice',
            state: [
              { name: enc.encode('total'), value: enc.encode('42') },
              { name: enc.encode('empty'), value: new Uint8Array(0) },
            ],
            sink: { node: "n1", requestId: 7n },
          },
        },
      }),
    );
    expect(encodeCommand(full).subarray(1)).toEqual(expected);
  });
});
