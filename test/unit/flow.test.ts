import { create, toBinary } from '@bufbuild/protobuf';
import { beforeEach, describe, expect, it } from 'vitest';
import { FlowRuleError, flowTimerKey, limitKeyAndPriority, parseFlowRule, parseFlowTimerKey, parsePriority, type FlowRule } from '../../src/flow/index.ts';
import { FlowRules } from '../../src/node/flow-routes.ts';
import { pb } from '../../src/protocol/index.ts';
import { Partitioner } from '../../src/sharding/index.ts';
import { SqlitePartitionStore, openSqlite } from '../../src/store/index.ts';
import { formatInvocationId, newInvocationId } from '../../src/types/index.ts';
import { apply, type Action, type Command, type ResolvedTarget } from '../../src/worker/index.ts';

// Flow control in the state machine, command by command, on an in-memory store with one
// partition: outbox messages are delivered by hand, in order, as the shuffle would.

const partitioner = new Partitioner(1);
let store: SqlitePartitionStore;

beforeEach(() => {
  store = new SqlitePartitionStore(openSqlite(':memory:'));
});

const work: ResolvedTarget = {
  service: 'Work', handler: 'run', key: undefined, serviceType: 'SERVICE', handlerType: undefined, deploymentId: 'dp_1', retentionMs: 60_000,
  flow: { rule: 'Work', limitKey: '', priority: 0 },
};

function rule(over: Partial<FlowRule>): FlowRule {
  return { id: 'Work', service: 'Work', handler: undefined, concurrency: undefined, rate: undefined, debounceMs: undefined, createdAt: 0, updatedAt: 0, ...over };
}

/** Applies a command and every outbox message it causes; returns the invocations started. */
async function settle(command: Command): Promise<string[]> {
  const started: string[] = [];
  const queue: Command[] = [command];
  while (queue.length > 0) {
    const actions: Action[] = await store.transaction((tx) => apply(tx, { partition: 0, partitioner }, queue.shift()!));
    for (const a of actions) {
      if (a.kind === 'invoke') started.push(a.id);
      if (a.kind === 'shuffle') queue.push(a.message.command);
    }
  }
  return started;
}

function input(headers: Record<string, string>): Uint8Array {
  return toBinary(
    pb.InputCommandMessageSchema,
    create(pb.InputCommandMessageSchema, { headers: Object.entries(headers).map(([key, value]) => ({ key, value })), value: { content: new Uint8Array() } }),
  );
}

async function invoke(now: number, headers: Record<string, string> = {}): Promise<{ id: string; started: string[] }> {
  const id = formatInvocationId(newInvocationId(undefined));
  const started = await settle({
    kind: 'invoke',
    invocation: { id, target: work, inputEntry: input(headers), idempotencyKey: undefined, executeAt: undefined, createdAt: now, sink: undefined, sinkMode: 'result' },
  });
  return { id, started };
}

const phase = async (id: string) => (await store.getInvocation(id))?.phase;

describe('flow control in the state machine', () => {
  it('a concurrency limit parks invocations beyond it and starts the next one when a permit comes back', async () => {
    await settle({ kind: 'flow', op: 'put-rule', rule: 'Work', now: 0, spec: rule({ concurrency: 1 }) });
    const a = await invoke(10);
    const b = await invoke(11);
    expect(a.started).toEqual([a.id]);
    expect(b.started).toEqual([]);
    expect(await phase(b.id)).toBe('scheduled');
    expect(await settle({ kind: 'end', id: a.id, now: 20 })).toEqual([b.id]);
  });

  it('killing a waiting invocation releases nothing it does not hold', async () => {
    await settle({ kind: 'flow', op: 'put-rule', rule: 'Work', now: 0, spec: rule({ concurrency: 1 }) });
    const a = await invoke(10);
    const b = await invoke(11);
    const c = await invoke(12);
    expect(await settle({ kind: 'op', op: 'kill', id: b.id, now: 13 })).toEqual([]);
    expect((await store.getInvocation(b.id))?.result).toMatchObject({ ok: false, code: 409 });
    expect(await settle({ kind: 'op', op: 'cancel', id: c.id, now: 14 })).toEqual([]);
    const d = await invoke(15);
    expect(d.started).toEqual([]);
    // The running one still holds the only permit; when it ends, only the live waiter starts.
    expect(await settle({ kind: 'end', id: a.id, now: 20 })).toEqual([d.id]);
  });

  it('waiting invocations of higher priority start first', async () => {
    await settle({ kind: 'flow', op: 'put-rule', rule: 'Work', now: 0, spec: rule({ concurrency: 1 }) });
    const a = await invoke(10);
    const low = await invoke(11, { 'x-endure-priority': '1' });
    const high = await invoke(12, { 'x-endure-priority': '5' });
    expect(await settle({ kind: 'end', id: a.id, now: 20 })).toEqual([high.id]);
    expect(await settle({ kind: 'end', id: high.id, now: 21 })).toEqual([low.id]);
  });

  it('limit keys have independent limits', async () => {
    await settle({ kind: 'flow', op: 'put-rule', rule: 'Work', now: 0, spec: rule({ concurrency: 1 }) });
    expect((await invoke(10, { 'x-endure-limit-key': 'a' })).started).toHaveLength(1);
    expect((await invoke(10, { 'x-endure-limit-key': 'b' })).started).toHaveLength(1);
    expect((await invoke(10, { 'x-endure-limit-key': 'a' })).started).toHaveLength(0);
  });

  it('a rate limit starts the burst at once and the rest as tokens refill, through the limiter timer', async () => {
    await settle({ kind: 'flow', op: 'put-rule', rule: 'Work', now: 0, spec: rule({ rate: { count: 2, intervalMs: 1000, burst: 2 } }) });
    const started: string[] = [];
    for (let i = 0; i < 4; i++) started.push(...(await invoke(1000)).started);
    expect(started).toHaveLength(2);
    const timers = await store.listTimers(0);
    const timer = timers.find((t) => t.payload.kind === 'flow')!;
    expect(timer.fireAt).toBe(1500);
    expect(await settle({ kind: 'timer-fired', timerKey: timer.key, now: 1500 })).toHaveLength(1);
    expect(await settle({ kind: 'timer-fired', timerKey: timer.key, now: 2000 })).toHaveLength(1);
  });

  it('debounce runs only the last invocation of a window and completes the others with 409', async () => {
    await settle({ kind: 'flow', op: 'put-rule', rule: 'Work', now: 0, spec: rule({ debounceMs: 1000 }) });
    const a = await invoke(100);
    const b = await invoke(600);
    expect(a.started.concat(b.started)).toEqual([]);
    expect((await store.getInvocation(a.id))?.result).toMatchObject({ ok: false, code: 409 });
    const timer = (await store.listTimers(0)).find((t) => t.payload.kind === 'flow')!;
    expect(timer.fireAt).toBe(1600);
    expect(await settle({ kind: 'timer-fired', timerKey: timer.key, now: 1600 })).toEqual([b.id]);
  });

  it('raising a concurrency limit starts waiting invocations at once', async () => {
    await settle({ kind: 'flow', op: 'put-rule', rule: 'Work', now: 0, spec: rule({ concurrency: 1 }) });
    await invoke(10);
    const b = await invoke(11);
    await invoke(12);
    expect(await settle({ kind: 'flow', op: 'put-rule', rule: 'Work', now: 20, spec: rule({ concurrency: 2 }) })).toEqual([b.id]);
  });

  it('deleting a rule starts every waiting invocation', async () => {
    await settle({ kind: 'flow', op: 'put-rule', rule: 'Work', now: 0, spec: rule({ concurrency: 1 }) });
    await invoke(10);
    const b = await invoke(11);
    const c = await invoke(12);
    expect((await settle({ kind: 'flow', op: 'delete-rule', rule: 'Work', now: 20 })).sort()).toEqual([b.id, c.id].sort());
  });
});

describe('flow rule input', () => {
  it("a handler's own rule applies instead of its service's", () => {
    const rules = new FlowRules();
    rules.set(rule({ id: 'Work', concurrency: 5 }));
    rules.set(rule({ id: 'Work/run', handler: 'run', concurrency: 1 }));
    expect(rules.ruleFor('Work', 'run')).toBe('Work/run');
    expect(rules.ruleFor('Work', 'other')).toBe('Work');
    expect(rules.ruleFor('Other', 'run')).toBeUndefined();
    rules.delete('Work/run');
    expect(rules.ruleFor('Work', 'run')).toBe('Work');
  });

  it('bad rules are refused with the field named', () => {
    const bad: [string, Record<string, unknown>, string][] = [
      ['Work', {}, 'concurrency'],
      ['Work', { concurrency: 0 }, 'concurrency'],
      ['Work', { concurrency: 1.5 }, 'concurrency'],
      ['Work', { rate: { count: 5, interval: 'soon' } }, 'rate.interval'],
      ['Work', { rate: { interval: '1s' } }, 'rate.count'],
      ['Work', { debounce: -1 }, 'debounce'],
      ['Work', { limit: 3 }, 'limit'],
      ['Work/run/x', { concurrency: 1 }, 'id'],
      ['', { concurrency: 1 }, 'id'],
    ];
    for (const [id, body, field] of bad) {
      expect(() => parseFlowRule(id, body, 0), JSON.stringify(body)).toThrow(FlowRuleError);
      try {
        parseFlowRule(id, body, 0);
      } catch (err) {
        expect((err as FlowRuleError).field).toBe(field);
      }
    }
    expect(parseFlowRule('Work/run', { rate: { count: 10 }, debounce: '2s' }, 5)).toMatchObject({
      service: 'Work', handler: 'run', rate: { count: 10, intervalMs: 1000, burst: 10 }, debounceMs: 2000,
    });
  });

  it('priorities and limit keys read from headers whatever they hold', () => {
    expect(parsePriority('7')).toBe(7);
    expect(parsePriority('-3')).toBe(-3);
    expect(parsePriority('high')).toBe(0);
    expect(parsePriority('99999999999')).toBe(1_000_000);
    expect(limitKeyAndPriority(input({ 'X-Endure-Limit-Key': 'k'.repeat(300), 'x-endure-priority': '2' }))).toEqual({ limitKey: 'k'.repeat(256), priority: 2 });
    expect(limitKeyAndPriority(new Uint8Array([0xff, 0xff]))).toEqual({ limitKey: '', priority: 0 });
    expect(limitKeyAndPriority(input({ 'x-endure-limit-key': 'a\u0000b' })).limitKey).toBe('ab');
    expect(parseFlowTimerKey(flowTimerKey('Work/run', 'a|b/c'))).toEqual({ rule: 'Work/run', limitKey: 'a|b/c' });
    expect(parseFlowTimerKey('cleanup:inv_1')).toBeUndefined();
  });
});
