// Cost of encoding and decoding the records Endure writes on every command: log entries and
// invocation status. Compares the record format (protobuf written field by field with
// @bufbuild/protobuf's BinaryWriter/BinaryReader) with the node:v8 serialisation it replaced,
// and with the generated schema's create()/toBinary()/fromBinary() for the same messages.
//
//   node bench/micro/records.mjs [iterations]
import { register } from 'tsx/esm/api';
import { serialize, deserialize } from 'node:v8';

register();
const { encodeCommand, decodeCommand } = await import('../../src/log/index.ts');
const { encodeStatus, decodeStatus } = await import('../../src/store/records.ts');
const { create, toBinary, fromBinary } = await import('@bufbuild/protobuf');
const pb = await import('../../src/protocol/generated/endure/records_pb.ts');

const N = Number(process.argv[2] ?? 200_000);
const now = Date.now();
const id = 'inv_1gdJBtdVEcM942bjcDmb1c1khoaJe11Hbz';
const target = {
  service: 'Counter',
  handler: 'add',
  key: 'alice',
  serviceType: 'VIRTUAL_OBJECT',
  handlerType: 'EXCLUSIVE',
  deploymentId: 'dp_11Hbz1gdJBtdVEcM942bjc',
  retentionMs: 86_400_000,
};
const body = new Uint8Array(48).fill(7);

/** The shapes of one no-op call: its log commands and its status record. */
const samples = {
  'command: invoke': {
    kind: 'invoke',
    invocation: {
      id,
      target,
      inputEntry: body,
      idempotencyKey: undefined,
      executeAt: undefined,
      createdAt: now,
      sink: { kind: 'ingress', node: '3f9a0c2b7e1d4a56', requestId: 123_456 },
      sinkMode: 'result',
    },
  },
  'command: journal-command': { kind: 'journal-command', id, commandIndex: 3, type: 0x0403, body, now },
  'command: end': { kind: 'end', id, now },
};
const status = {
  id,
  partition: 7,
  phase: 'invoked',
  target,
  idempotencyKey: undefined,
  createdAt: now,
  modifiedAt: now + 3,
  completedAt: undefined,
  journalLength: 4,
  commandCount: 3,
  waiting: undefined,
  sinks: [{ kind: 'ingress', node: '3f9a0c2b7e1d4a56', requestId: 123_456 }],
  result: undefined,
};

// The generated schema's path, for the shapes it is measured on: model → message → bytes and back.
const ST = { SERVICE: 1, VIRTUAL_OBJECT: 2, WORKFLOW: 3 };
const HT = { EXCLUSIVE: 1, SHARED: 2, WORKFLOW: 3 };
const PH = { scheduled: 1, inboxed: 2, invoked: 3, suspended: 4, paused: 5, completed: 6 };
const PH_BACK = Object.fromEntries(Object.entries(PH).map(([k, v]) => [v, k]));
const ST_BACK = Object.fromEntries(Object.entries(ST).map(([k, v]) => [v, k]));
const HT_BACK = Object.fromEntries(Object.entries(HT).map(([k, v]) => [v, k]));
const targetMsg = (t) => ({ service: t.service, handler: t.handler, key: t.key, serviceType: ST[t.serviceType], handlerType: t.handlerType ? HT[t.handlerType] : 0, deploymentId: t.deploymentId, retentionMs: t.retentionMs });
const targetBack = (m) => ({ service: m.service, handler: m.handler, key: m.key, serviceType: ST_BACK[m.serviceType], handlerType: m.handlerType ? HT_BACK[m.handlerType] : undefined, deploymentId: m.deploymentId, retentionMs: m.retentionMs });
const sinkMsg = (s) => (s.kind === 'ingress' ? { kind: { case: 'ingress', value: { node: s.node, requestId: BigInt(s.requestId) } } } : { kind: { case: 'invocation', value: s } });
const sinkBack = (m) => (m.kind.case === 'ingress' ? { kind: 'ingress', node: m.kind.value.node, requestId: Number(m.kind.value.requestId) } : { kind: 'invocation', ...m.kind.value });
const generated = {
  'command: invoke': [
    (c) => toBinary(pb.LogEntrySchema, create(pb.LogEntrySchema, { command: { case: 'invoke', value: { invocation: { id: c.invocation.id, target: targetMsg(c.invocation.target), inputEntry: c.invocation.inputEntry, createdAt: c.invocation.createdAt, sink: sinkMsg(c.invocation.sink), sinkMode: 1 } } } })),
    (b) => {
      const v = fromBinary(pb.LogEntrySchema, b).command.value.invocation;
      return { kind: 'invoke', invocation: { id: v.id, target: targetBack(v.target), inputEntry: v.inputEntry, idempotencyKey: v.idempotencyKey, executeAt: v.executeAt, createdAt: v.createdAt, sink: sinkBack(v.sink), sinkMode: 'result' } };
    },
  ],
  'command: journal-command': [
    (c) => toBinary(pb.LogEntrySchema, create(pb.LogEntrySchema, { command: { case: 'journalCommand', value: { id: c.id, commandIndex: c.commandIndex, type: c.type, body: c.body, now: c.now } } })),
    (b) => {
      const v = fromBinary(pb.LogEntrySchema, b).command.value;
      return { kind: 'journal-command', id: v.id, commandIndex: v.commandIndex, type: v.type, body: v.body, now: v.now };
    },
  ],
  'command: end': [
    (c) => toBinary(pb.LogEntrySchema, create(pb.LogEntrySchema, { command: { case: 'end', value: { id: c.id, now: c.now } } })),
    (b) => {
      const v = fromBinary(pb.LogEntrySchema, b).command.value;
      return { kind: 'end', id: v.id, now: v.now };
    },
  ],
  status: [
    (s) => toBinary(pb.InvocationStatusSchema, create(pb.InvocationStatusSchema, { id: s.id, partition: s.partition, phase: PH[s.phase], target: targetMsg(s.target), createdAt: s.createdAt, modifiedAt: s.modifiedAt, journalLength: s.journalLength, commandCount: s.commandCount, sinks: s.sinks.map(sinkMsg) })),
    (b) => {
      const m = fromBinary(pb.InvocationStatusSchema, b);
      return { id: m.id, partition: m.partition, phase: PH_BACK[m.phase], target: targetBack(m.target), idempotencyKey: m.idempotencyKey, createdAt: m.createdAt, modifiedAt: m.modifiedAt, completedAt: m.completedAt, journalLength: m.journalLength, commandCount: m.commandCount, waiting: undefined, sinks: m.sinks.map(sinkBack), result: undefined };
    },
  ],
};

function time(fn) {
  for (let i = 0; i < Math.min(N, 20_000); i++) fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) fn();
  return Number(process.hrtime.bigint() - start) / N / 1000;
}

const rows = [];
function measure(name, value, encodings) {
  for (const [label, encode, decode] of encodings) {
    const bytes = encode(value);
    const enc = time(() => encode(value));
    const dec = time(() => decode(bytes));
    rows.push({ record: name, encoding: label, bytes: bytes.length, 'encode µs': enc.toFixed(2), 'decode µs': dec.toFixed(2), 'total µs': (enc + dec).toFixed(2) });
  }
}

for (const [name, command] of Object.entries(samples)) {
  measure(name, command, [
    ['node:v8', (c) => serialize({ command: c }), (b) => deserialize(b)],
    ['protobuf create/toBinary', ...generated[name]],
    ['protobuf BinaryWriter (used)', (c) => encodeCommand(c), (b) => decodeCommand(b)],
  ]);
}
measure('invocation status', status, [
  ['node:v8', (s) => serialize(s), (b) => deserialize(b)],
  ['protobuf create/toBinary', ...generated.status],
  ['protobuf BinaryWriter (used)', encodeStatus, decodeStatus],
]);
console.log(`node ${process.version}, ${N} iterations each`);
console.table(rows);
