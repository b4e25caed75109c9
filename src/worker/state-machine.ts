import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { MessageType, pb } from '../protocol/index.ts';
import type { PartitionTx } from '../store/index.ts';
import { deriveInvocationId, formatInvocationId } from '../types/index.ts';
import type { Partitioner } from '../sharding/index.ts';
import type {
  Action,
  Command,
  InvocationResult,
  InvocationStatus,
  NewInvocation,
  OutboxMessage,
  ResolvedTarget,
  Sink,
  TimerPayload,
} from './model.ts';
import { encodeCommand } from './codec.ts';

/** What apply needs besides the store: fixed facts of this partition. No clock, no randomness. */
export interface ApplyContext {
  readonly partition: number;
  readonly partitioner: Partitioner;
}

/** Status code and message of the failure given to callers of an unknown service. */
const UNKNOWN_TARGET = { code: 404, message: 'service or handler not found' } as const;

/**
 * The partition state machine: applies one command to the store and returns the actions the
 * leader must carry out once the transaction committed.
 *
 * Rule 2 of DESIGN.md holds here: the outcome depends only on the store and the command. Time
 * arrives inside commands (`now`, `createdAt`), ids are derived from what is already journaled,
 * and nothing here performs I/O other than through `tx`.
 */
export async function apply(tx: PartitionTx, ctx: ApplyContext, command: Command): Promise<Action[]> {
  const sm = new Apply(tx, ctx);
  await sm.run(command);
  return sm.actions;
}

class Apply {
  readonly actions: Action[] = [];
  constructor(
    private readonly tx: PartitionTx,
    private readonly ctx: ApplyContext,
  ) {}

  async run(cmd: Command): Promise<void> {
    switch (cmd.kind) {
      case 'invoke':
        if (cmd.dedup && !(await this.#firstDelivery(cmd.dedup.producer, cmd.dedup.seq))) return;
        return this.#invoke(cmd.invocation);
      case 'journal-command':
        return this.#journalCommand(cmd);
      case 'run-completion':
        return this.#runCompletion(cmd.id, cmd.completionId, cmd.result);
      case 'suspend':
        return this.#suspend(cmd);
      case 'end':
        return this.#end(cmd.id, cmd.now, undefined);
      case 'fail':
        return this.#end(cmd.id, cmd.now, cmd.result);
      case 'call-response':
        if (!(await this.#firstDelivery(cmd.dedup.producer, cmd.dedup.seq))) return;
        return this.#callResponse(cmd.id, cmd.completionId, cmd.result);
      case 'timer-fired':
        return this.#timerFired(cmd.timerKey, cmd.now);
      case 'attach':
        return this.#attach(cmd.id, cmd.mode, cmd.sink);
      case 'outbox-delivered':
        return this.tx.deleteOutboxUpTo(this.ctx.partition, cmd.upTo);
    }
  }

  /** Deduplication (rule 5): true the first time a producer's sequence number is seen. */
  async #firstDelivery(producer: string, seq: number): Promise<boolean> {
    const last = await this.tx.getDedup(this.ctx.partition, producer);
    if (last !== undefined && seq <= last) return false;
    await this.tx.putDedup(this.ctx.partition, producer, seq);
    return true;
  }

  // ---- creating and starting invocations ----

  async #invoke(inv: NewInvocation): Promise<void> {
    const t = inv.target;
    if (inv.idempotencyKey !== undefined) {
      const existing = await this.tx.getIdempotency(t.service, t.key ?? '', t.handler, inv.idempotencyKey);
      if (existing !== undefined) return this.#joinExisting(existing, inv);
    }
    const previous = await this.tx.getInvocation(inv.id);
    if (previous) return this.#joinExisting(previous.id, inv);
    if (inv.idempotencyKey !== undefined) {
      await this.tx.putIdempotency(t.service, t.key ?? '', t.handler, inv.idempotencyKey, inv.id);
    }

    const status: InvocationStatus = {
      id: inv.id,
      partition: this.ctx.partition,
      phase: 'scheduled',
      target: t,
      idempotencyKey: inv.idempotencyKey,
      createdAt: inv.createdAt,
      modifiedAt: inv.createdAt,
      completedAt: undefined,
      journalLength: 1,
      commandCount: 1,
      waiting: undefined,
      sinks: inv.sink && inv.sinkMode === 'result' ? [inv.sink] : [],
      result: undefined,
    };
    await this.tx.appendJournal(inv.id, { index: 0, type: MessageType.InputCommand, completionId: undefined, body: inv.inputEntry });
    if (inv.sink && inv.sinkMode === 'accepted') this.#acknowledge(inv.sink, inv.id, false);

    if (inv.executeAt !== undefined && inv.executeAt > inv.createdAt) {
      await this.tx.putInvocation(status);
      await this.#putTimer(`inv:${inv.id}`, inv.executeAt, { kind: 'scheduled-invoke', id: inv.id });
      return;
    }
    await this.#start(status);
  }

  /** A request for an invocation that already exists (idempotency key or same id): attach to it. */
  async #joinExisting(id: string, inv: NewInvocation): Promise<void> {
    const status = await this.tx.getInvocation(id);
    if (!status) return;
    if (!inv.sink) return;
    if (inv.sinkMode === 'accepted') {
      this.#acknowledge(inv.sink, id, true);
      return;
    }
    if (status.phase === 'completed' && status.result) {
      await this.#deliver(inv.sink, id, status.result);
      return;
    }
    status.sinks.push(inv.sink);
    await this.tx.putInvocation(status);
  }

  /** Takes the key's lock (exclusive handlers) or queues behind it, else runs right away. */
  async #start(status: InvocationStatus): Promise<void> {
    const t = status.target;
    if (holdsLock(t)) {
      const holder = await this.tx.getLock(t.service, t.key ?? '');
      if (holder !== undefined && holder !== status.id) {
        const fsm = await this.tx.getFsm(this.ctx.partition);
        fsm.inboxSeq += 1;
        await this.tx.putFsm(this.ctx.partition, fsm);
        await this.tx.pushInbox(this.ctx.partition, t.service, t.key ?? '', fsm.inboxSeq, status.id);
        status.phase = 'inboxed';
        await this.tx.putInvocation(status);
        return;
      }
      await this.tx.setLock(t.service, t.key ?? '', status.id);
    }
    status.phase = 'invoked';
    await this.tx.putInvocation(status);
    this.actions.push({ kind: 'invoke', id: status.id, partition: this.ctx.partition });
  }

  // ---- the journal ----

  async #journalCommand(cmd: Extract<Command, { kind: 'journal-command' }>): Promise<void> {
    const status = await this.tx.getInvocation(cmd.id);
    // A command from an attempt that is no longer current, or a duplicate: ignore (rule 5).
    if (!status || status.phase !== 'invoked' || status.commandCount !== cmd.commandIndex) return;
    const index = status.journalLength;
    await this.tx.appendJournal(cmd.id, { index, type: cmd.type, completionId: undefined, body: cmd.body });
    status.journalLength += 1;
    status.commandCount += 1;
    status.modifiedAt = cmd.now;
    const t = status.target;
    const key = t.key ?? '';

    switch (cmd.type) {
      case MessageType.SetStateCommand: {
        const m = fromBinary(pb.SetStateCommandMessageSchema, cmd.body);
        await this.tx.setState(t.service, key, m.key, m.value?.content ?? new Uint8Array());
        break;
      }
      case MessageType.ClearStateCommand: {
        const m = fromBinary(pb.ClearStateCommandMessageSchema, cmd.body);
        await this.tx.clearState(t.service, key, m.key);
        break;
      }
      case MessageType.ClearAllStateCommand:
        await this.tx.clearAllState(t.service, key);
        break;
      case MessageType.GetLazyStateCommand: {
        const m = fromBinary(pb.GetLazyStateCommandMessageSchema, cmd.body);
        const value = await this.tx.getState(t.service, key, m.key);
        const body = toBinary(
          pb.GetLazyStateCompletionNotificationMessageSchema,
          create(pb.GetLazyStateCompletionNotificationMessageSchema, {
            completionId: m.resultCompletionId,
            result: value === undefined ? { case: 'void', value: {} } : { case: 'value', value: { content: value } },
          }),
        );
        await this.#notify(status, MessageType.GetLazyStateCompletionNotification, m.resultCompletionId, body);
        break;
      }
      case MessageType.GetLazyStateKeysCommand: {
        const m = fromBinary(pb.GetLazyStateKeysCommandMessageSchema, cmd.body);
        const keys = (await this.tx.getAllState(t.service, key)).map(([name]) => name);
        const body = toBinary(
          pb.GetLazyStateKeysCompletionNotificationMessageSchema,
          create(pb.GetLazyStateKeysCompletionNotificationMessageSchema, {
            completionId: m.resultCompletionId,
            stateKeys: { keys },
          }),
        );
        await this.#notify(status, MessageType.GetLazyStateKeysCompletionNotification, m.resultCompletionId, body);
        break;
      }
      case MessageType.SleepCommand: {
        const m = fromBinary(pb.SleepCommandMessageSchema, cmd.body);
        await this.#putTimer(`sleep:${cmd.id}:${m.resultCompletionId}`, Number(m.wakeUpTime), {
          kind: 'sleep',
          id: cmd.id,
          completionId: m.resultCompletionId,
        });
        break;
      }
      case MessageType.CallCommand: {
        const m = fromBinary(pb.CallCommandMessageSchema, cmd.body);
        const childId = this.#childId(status, index, m.serviceName, m.handlerName, m.key, m.idempotencyKey);
        await this.#notifyInvocationId(status, m.invocationIdNotificationIdx, childId);
        if (!cmd.callee) {
          await this.#callResponse(status.id, m.resultCompletionId, { ok: false, ...UNKNOWN_TARGET }, status);
          break;
        }
        await this.#sendInvocation(status, cmd.callee, childId, m.parameter, m.headers, m.idempotencyKey, cmd.now, undefined, {
          kind: 'invocation',
          id: status.id,
          partition: this.ctx.partition,
          completionId: m.resultCompletionId,
        });
        break;
      }
      case MessageType.OneWayCallCommand: {
        const m = fromBinary(pb.OneWayCallCommandMessageSchema, cmd.body);
        const childId = this.#childId(status, index, m.serviceName, m.handlerName, m.key, m.idempotencyKey);
        await this.#notifyInvocationId(status, m.invocationIdNotificationIdx, childId);
        if (!cmd.callee) break;
        const at = Number(m.invokeTime);
        await this.#sendInvocation(status, cmd.callee, childId, m.parameter, m.headers, m.idempotencyKey, cmd.now, at > 0 ? at : undefined, undefined);
        break;
      }
      case MessageType.OutputCommand: {
        const m = fromBinary(pb.OutputCommandMessageSchema, cmd.body);
        status.result =
          m.result.case === 'failure'
            ? { ok: false, code: m.result.value.code, message: m.result.value.message, metadata: m.result.value.metadata.map((x) => [x.key, x.value] as const) }
            : { ok: true, value: m.result.case === 'value' ? m.result.value.content : new Uint8Array() };
        break;
      }
      default:
        // Commands whose effect is the journal entry itself (Run, GetEagerState, custom entries, ...).
        break;
    }
    await this.tx.putInvocation(status);
  }

  #childId(status: InvocationStatus, index: number, service: string, handler: string, key: string, idempotencyKey: string | undefined): string {
    const k = key === '' ? undefined : key;
    if (idempotencyKey !== undefined) {
      return formatInvocationId(deriveInvocationId(`${service}/${key}/${handler}/${idempotencyKey}`, k, idempotencyKey));
    }
    return formatInvocationId(deriveInvocationId(`${status.id}#${index}`, k));
  }

  async #notifyInvocationId(status: InvocationStatus, completionId: number, childId: string): Promise<void> {
    const body = toBinary(
      pb.CallInvocationIdCompletionNotificationMessageSchema,
      create(pb.CallInvocationIdCompletionNotificationMessageSchema, { completionId, invocationId: childId }),
    );
    await this.#notify(status, MessageType.CallInvocationIdCompletionNotification, completionId, body);
  }

  async #sendInvocation(
    caller: InvocationStatus,
    callee: ResolvedTarget,
    childId: string,
    parameter: Uint8Array,
    headers: { key: string; value: string }[],
    idempotencyKey: string | undefined,
    now: number,
    executeAt: number | undefined,
    sink: Sink | undefined,
  ): Promise<void> {
    const inputEntry = toBinary(
      pb.InputCommandMessageSchema,
      create(pb.InputCommandMessageSchema, { headers, value: { content: parameter } }),
    );
    const partition = this.ctx.partitioner.partitionOfInvocation(childId);
    await this.#outbox({
      partition,
      command: {
        kind: 'invoke',
        invocation: {
          id: childId,
          target: callee,
          inputEntry,
          idempotencyKey,
          executeAt,
          createdAt: now,
          sink,
          sinkMode: 'result',
        },
      },
    });
    void caller;
  }

  async #outbox(message: OutboxMessage): Promise<void> {
    const fsm = await this.tx.getFsm(this.ctx.partition);
    fsm.outboxSeq += 1;
    await this.tx.putFsm(this.ctx.partition, fsm);
    const seq = fsm.outboxSeq;
    const command = withDedup(message.command, `outbox-${this.ctx.partition}`, seq);
    const withSeq: OutboxMessage = { partition: message.partition, command };
    await this.tx.putOutbox(this.ctx.partition, seq, encodeCommand(withSeq.command, withSeq.partition));
    this.actions.push({ kind: 'shuffle', partition: this.ctx.partition, seq, message: withSeq });
  }

  /**
   * Appends a notification to the journal and wakes the invocation if it waits for it: a live
   * attempt gets it on its stream, a suspended one is invoked again.
   */
  async #notify(status: InvocationStatus, type: number, completionId: number, body: Uint8Array): Promise<void> {
    const index = status.journalLength;
    await this.tx.appendJournal(status.id, { index, type, completionId, body });
    status.journalLength += 1;
    if (status.phase === 'invoked') {
      this.actions.push({ kind: 'notify', id: status.id, index, type, body });
    } else if (status.phase === 'suspended' && status.waiting?.completions.includes(completionId)) {
      status.phase = 'invoked';
      status.waiting = undefined;
      this.actions.push({ kind: 'invoke', id: status.id, partition: this.ctx.partition });
    }
  }

  async #runCompletion(id: string, completionId: number, result: InvocationResult): Promise<void> {
    const status = await this.tx.getInvocation(id);
    if (!status || status.phase !== 'invoked') return;
    if (await this.tx.hasCompletion(id, completionId)) return;
    const body = toBinary(
      pb.RunCompletionNotificationMessageSchema,
      create(pb.RunCompletionNotificationMessageSchema, { completionId, result: resultOneof(result) }),
    );
    await this.#notify(status, MessageType.RunCompletionNotification, completionId, body);
    await this.tx.putInvocation(status);
  }

  async #callResponse(id: string, completionId: number, result: InvocationResult, known?: InvocationStatus): Promise<void> {
    const status = known ?? (await this.tx.getInvocation(id));
    if (!status || status.phase === 'completed') return;
    if (await this.tx.hasCompletion(id, completionId)) return;
    const body = toBinary(
      pb.CallCompletionNotificationMessageSchema,
      create(pb.CallCompletionNotificationMessageSchema, { completionId, result: resultOneof(result) }),
    );
    await this.#notify(status, MessageType.CallCompletionNotification, completionId, body);
    if (!known) await this.tx.putInvocation(status);
  }

  async #suspend(cmd: Extract<Command, { kind: 'suspend' }>): Promise<void> {
    const status = await this.tx.getInvocation(cmd.id);
    if (!status || status.phase !== 'invoked') return;
    // Something it waits for may have been journaled after the SDK last heard from us.
    for (const c of cmd.completions) {
      if (await this.tx.hasCompletion(cmd.id, c)) {
        this.actions.push({ kind: 'invoke', id: cmd.id, partition: this.ctx.partition });
        return;
      }
    }
    status.phase = 'suspended';
    status.waiting = {
      completions: [...cmd.completions],
      signals: [...cmd.signals],
      namedSignals: [...cmd.namedSignals],
    };
    await this.tx.putInvocation(status);
  }

  // ---- completion ----

  async #end(id: string, now: number, failure: InvocationResult | undefined): Promise<void> {
    const status = await this.tx.getInvocation(id);
    if (!status || status.phase === 'completed') return;
    const result: InvocationResult = failure ??
      status.result ?? { ok: false, code: 500, message: 'invocation ended without an output' };
    status.result = result;
    status.phase = 'completed';
    status.completedAt = now;
    status.modifiedAt = now;
    status.waiting = undefined;
    for (const sink of status.sinks) await this.#deliver(sink, id, result);
    status.sinks = [];
    await this.tx.putInvocation(status);
    await this.tx.deleteJournal(id);
    this.actions.push({ kind: 'abort', id });
    await this.#putTimer(`cleanup:${id}`, now + status.target.retentionMs, { kind: 'cleanup', id });
    await this.#releaseLock(status);
  }

  async #releaseLock(status: InvocationStatus): Promise<void> {
    const t = status.target;
    if (!holdsLock(t)) return;
    const key = t.key ?? '';
    if ((await this.tx.getLock(t.service, key)) !== status.id) return;
    await this.tx.deleteLock(t.service, key);
    // Start the next call waiting for this key, in arrival order.
    for (;;) {
      const next = await this.tx.popInbox(t.service, key);
      if (next === undefined) return;
      const nextStatus = await this.tx.getInvocation(next);
      if (!nextStatus || nextStatus.phase !== 'inboxed') continue;
      await this.#start(nextStatus);
      return;
    }
  }

  async #deliver(sink: Sink, id: string, result: InvocationResult): Promise<void> {
    if (sink.kind === 'ingress') {
      this.actions.push({ kind: 'answer', sink, answer: { kind: 'result', id, result } });
      return;
    }
    // Awaited by another invocation: goes through the outbox to the caller's partition.
    await this.#outbox({
      partition: sink.partition,
      command: { kind: 'call-response', id: sink.id, completionId: sink.completionId, result, dedup: { producer: '', seq: 0 } },
    });
  }

  #acknowledge(sink: Sink, id: string, previously: boolean): void {
    if (sink.kind === 'ingress') this.actions.push({ kind: 'answer', sink, answer: { kind: 'accepted', id, previously } });
  }

  // ---- timers ----

  async #putTimer(key: string, fireAt: number, payload: TimerPayload): Promise<void> {
    await this.tx.putTimer({ partition: this.ctx.partition, key, fireAt, payload });
    this.actions.push({ kind: 'timer', partition: this.ctx.partition, key, fireAt });
  }

  async #timerFired(key: string, now: number): Promise<void> {
    const timer = await this.tx.getTimer(this.ctx.partition, key);
    if (!timer) return;
    await this.tx.deleteTimer(this.ctx.partition, key);
    const p = timer.payload;
    switch (p.kind) {
      case 'sleep': {
        const status = await this.tx.getInvocation(p.id);
        if (!status || status.phase === 'completed') return;
        const body = toBinary(
          pb.SleepCompletionNotificationMessageSchema,
          create(pb.SleepCompletionNotificationMessageSchema, { completionId: p.completionId, void: {} }),
        );
        await this.#notify(status, MessageType.SleepCompletionNotification, p.completionId, body);
        status.modifiedAt = now;
        await this.tx.putInvocation(status);
        return;
      }
      case 'scheduled-invoke': {
        const status = await this.tx.getInvocation(p.id);
        if (!status || status.phase !== 'scheduled') return;
        status.modifiedAt = now;
        await this.#start(status);
        return;
      }
      case 'cleanup': {
        const status = await this.tx.getInvocation(p.id);
        if (!status || status.phase !== 'completed') return;
        if (status.idempotencyKey !== undefined) {
          const t = status.target;
          const owner = await this.tx.getIdempotency(t.service, t.key ?? '', t.handler, status.idempotencyKey);
          if (owner === status.id) await this.tx.deleteIdempotency(t.service, t.key ?? '', t.handler, status.idempotencyKey);
        }
        await this.tx.deleteInvocation(p.id);
        await this.tx.deleteJournal(p.id);
        return;
      }
    }
  }

  // ---- attach / output ----

  async #attach(id: string, mode: 'attach' | 'output', sink: Sink): Promise<void> {
    if (sink.kind !== 'ingress') return;
    const status = await this.tx.getInvocation(id);
    if (!status) {
      this.actions.push({ kind: 'answer', sink, answer: { kind: 'not-found', id } });
      return;
    }
    if (status.phase === 'completed' && status.result) {
      await this.#deliver(sink, id, status.result);
      return;
    }
    if (mode === 'output') {
      this.actions.push({ kind: 'answer', sink, answer: { kind: 'not-ready', id } });
      return;
    }
    status.sinks.push(sink);
    await this.tx.putInvocation(status);
  }
}

/** Exclusive handlers of virtual objects, and workflow `run` handlers, hold their key's lock. */
function holdsLock(t: ResolvedTarget): boolean {
  return (
    (t.serviceType === 'VIRTUAL_OBJECT' && t.handlerType !== 'SHARED') ||
    (t.serviceType === 'WORKFLOW' && t.handlerType === 'WORKFLOW')
  );
}

function resultOneof(result: InvocationResult) {
  return result.ok
    ? ({ case: 'value', value: { content: result.value } } as const)
    : ({
        case: 'failure',
        value: { code: result.code, message: result.message, metadata: (result.metadata ?? []).map(([key, value]) => ({ key, value })) },
      } as const);
}

function withDedup(command: Command, producer: string, seq: number): Command {
  switch (command.kind) {
    case 'invoke':
      return { ...command, dedup: { producer, seq } };
    case 'call-response':
      return { ...command, dedup: { producer, seq } };
    default:
      return command;
  }
}
