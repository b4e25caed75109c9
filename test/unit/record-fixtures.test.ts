import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeCommand, decodeFlowLimiter, decodeFlowRule, decodeScheduleRecord } from '../../src/log/index.ts';
import { decodeResult, decodeStatus, decodeTimerPayload, decodeWaiters } from '../../src/store/records.ts';
import { flowLimiters, flowRules, logEntries, results, schedules, sinceProtobuf, statuses, timers, waiters } from '../fixtures/records/values.ts';

// Records as earlier versions of Endure wrote them (test/fixtures/records, written once by
// write.ts there and never rewritten) must keep reading as the values they were written from:
// a data directory survives an upgrade, and a node of the cluster reads what another wrote.

const root = join(import.meta.dirname, '..', 'fixtures', 'records');

const kinds: Record<string, { values: Record<string, unknown>; decode: (bytes: Uint8Array) => unknown }> = {
  log: { values: logEntries, decode: decodeCommand },
  status: { values: statuses, decode: decodeStatus },
  timer: { values: timers, decode: decodeTimerPayload },
  result: { values: results, decode: decodeResult },
  waiters: { values: waiters, decode: decodeWaiters },
  schedule: { values: schedules, decode: decodeScheduleRecord },
  'flow-rule': { values: flowRules, decode: decodeFlowRule },
  'flow-limiter': { values: flowLimiters, decode: decodeFlowLimiter },
};

function fixtures(format: string, kind: string): string[] {
  // Kinds added after a format have no folder of it.
  if (!existsSync(join(root, format, kind))) return [];
  return readdirSync(join(root, format, kind))
    .filter((f) => f.endsWith('.bin'))
    .map((f) => f.slice(0, -'.bin'.length))
    .sort();
}

describe.each(['v1', 'v8'])('records written in format %s', (format) => {
  for (const [kind, { values, decode }] of Object.entries(kinds)) {
    it(`every ${kind} fixture reads as the value it was written from`, () => {
      const names = fixtures(format, kind);
      const expected = Object.keys(values).filter((name) => format === 'v1' || !sinceProtobuf.has(name));
      expect(names).toEqual(expected.sort());
      for (const name of names) {
        const bytes = readFileSync(join(root, format, kind, `${name}.bin`));
        expect(decode(bytes), `${format}/${kind}/${name}`).toStrictEqual(values[name]);
      }
    });
  }
});

it('the protobuf fixtures start with format byte 1 and the old ones with the v8 header', () => {
  for (const kind of Object.keys(kinds)) {
    for (const name of fixtures('v1', kind)) expect(readFileSync(join(root, 'v1', kind, `${name}.bin`))[0]).toBe(0x01);
    for (const name of fixtures('v8', kind)) expect(readFileSync(join(root, 'v8', kind, `${name}.bin`))[0]).toBe(0xff);
  }
});
