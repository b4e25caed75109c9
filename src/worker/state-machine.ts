import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { MessageType, pb } from '../protocol/index.ts';
import type { Partitioner } from '../sharding/index.ts';
import type { PartitionTx } from '../store/index.ts';
import { IdDecodeError, deriveInvocationId, formatInvocationId, idempotentInvocationId, parseAwakeableId, parseInvocationId, partitionKeyOf, stateVersion, workflowRunId } from '../types/index.ts';
import { encodeCommand } from '../log/index.ts';
import { flowPartitionKey, limitKeyAndPriority, parseFlowTimerKey } from '../flow/index.ts';
import { DEBOUNCED, applyFlow, pumpFlowTimer, type FlowHost } from './flow.ts';
import { applySchedule, type ScheduleHost } from './schedules.ts';
import type {
  Action,
  Command,
  IngressAnswer,
  IngressSink,
  InvocationResult,
  InvocationStatus,
  NewInvocation,
  OutboxMessage,
  ResolvedTarget,
  SignalResult,
  Sink,
  TimerPayload,
} from './model.ts';

/** What apply needs besides the store: fixed facts of this partition. No clock, no randomness. */
export interface ApplyContext {
  readonly partition: number;
  readonly partitioner: Partitioner;
  /**
   * Present when the commit loop can apply a message to its target partition in the batch that
   * produced it (see {@link LocalDelivery}); when absent (recovery, tests) every message takes the
   * outbox. Either way the target applies the same command once, so the state reached is the same.
   */
  readonly local?: LocalDelivery;
}

/**
 * The commit loop's offer to take a message between partitions it commits for straight into the
 * batch being applied: the message is appended to the target's log and applied in the same
 * transaction as the command that produced it, so it is delivered exactly once without an
 * outbox row, a shuffle, a dedup entry or a second batch. Only the loop knows which targets it
 * may write in this transaction (leadership, fencing); the state machine asks it per message.
 */
export interface LocalDelivery {
  /** Whether a message to `partition` may be applied in this batch. */
  accepts(partition: number): boolean;
  /** Takes the message; the loop applies it after the command that produced it. */
  deliver(message: OutboxMessage): void;
}

/** Built-in signal index of cancellation. */
export const CANCEL_SIGNAL = 1;

const UNKNOWN_TARGET: InvocationResult = { ok: false, code: 404, message: 'service or handler not found' };
const KILLED: InvocationResult = { ok: false, code: 409, message: 'killed' };
const CANCELED: InvocationResult = { ok: false, code: 409, message: 'canceled' };
const WORKFLOW_ALREADY_INVOKED: InvocationResult = { ok: false, code: 409, message: 'the workflow method was already invoked' };

/**
 * The partition state machine: applies one command to the store and returns the actions the
 * leader must carry out once the transaction committed.
 *
 * Rule 2 of DESIGN.md holds here: the outcome depends only on the store and the command. Time
 * arrives inside commands (`now`, `createdAt`), ids are derived from what is already journaled,
 * schema facts arrive resolved inside commands, and nothing here performs I/O other than
 * through `tx`.
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
    if ('dedup' in cmd && cmd.dedup && !(await this.#firstDelivery(cmd.dedup.producer, cmd.dedup.seq))) return;
    switch (cmd.kind) {
      case 'invoke':
        return this.#invoke(cmd.invocation);
      case 'journal-command':
        return this.#journalCommand(cmd);
      case 'run-completion':
        return this.#runCompletion(cmd.id, cmd.completionId, cmd.result);
      case 'suspend':
        return this.#suspend(cmd);
      case 'end':
        return this.#endCommand(cmd.id, cmd.now, undefined);
      case 'fail':
        return this.#endCommand(cmd.id, cmd.now, cmd.result);
      case 'call-response':
        return this.#callResponse(cmd.id, cmd.completionId, cmd.result, cmd.notificationType);
      case 'signal':
        return this.#signal(cmd.id, cmd.signal, cmd.result, cmd.sink);
      case 'op':
        return this.#op(cmd);
      case 'timer-fired':
        return this.#timerFired(cmd.timerKey, cmd.now);
      case 'attach':
        return this.#attach(cmd.id, cmd.mode, cmd.sink);
      case 'outbox-delivered':
        return this.tx.deleteOutboxUpTo(this.ctx.partition, cmd.upTo);
      case 'state-mutation':
        return this.#stateMutation(cmd);
      case 'schedule':
        return applySchedule(this.#scheduleHost(), cmd);
      case 'flow':
        return applyFlow(this.#flowHost(), cmd);
    }
  }

  #flowHost(): FlowHost {
    return {
      tx: this.tx,
      partition: this.ctx.partition,
      outbox: (m) => this.#outbox(m),
      putTimer: (key, fireAt, payload) => this.#putTimer(key, fireAt, payload),
      answer: (sink, answer) => this.#answer(sink, answer),
      granted: async (id, now) => {
        const status = await this.tx.getInvocation(id);
        // Ended while the grant travelled: its end already released the permit.
        if (status?.phase !== 'scheduled') return;
        status.modifiedAt = Math.max(status.modifiedAt, now);
        await this.#start(status);
      },
      debounced: async (id, now) => {
        const status = await this.tx.getInvocation(id);
        if (status?.phase === 'scheduled') await this.#complete(status, now, DEBOUNCED);
      },
    };
  }

  /** The partition that keeps the counters of flow rule `rule`. */
  #flowPartition(rule: string): number {
    return this.ctx.partitioner.partitionOf(partitionKeyOf(flowPartitionKey(rule)));
  }

  /**
   * Starts an invocation, unless a flow rule limits its target: then it stays parked in phase
   * `scheduled` (a row, nothing more) and asks the rule's partition for a permit.
   */
  async #admit(status: InvocationStatus): Promise<void> {
    const flow = status.target.flow;
    if (flow === undefined) return this.#start(status);
    status.phase = 'scheduled';
    await this.tx.putInvocation(status);
    await this.#outbox({
      partition: this.#flowPartition(flow.rule),
      command: {
        kind: 'flow',
        op: 'acquire',
        rule: flow.rule,
        limitKey: flow.limitKey,
        invocationId: status.id,
        partition: this.ctx.partition,
        priority: flow.priority,
        now: status.modifiedAt,
      },
    });
  }

  #scheduleHost(): ScheduleHost {
    return {
      tx: this.tx,
      partition: this.ctx.partition,
      partitionOfInvocation: (id) => this.ctx.partitioner.partitionOfInvocation(id),
      outbox: (m) => this.#outbox(m),
      putTimer: (key, fireAt, payload) => this.#putTimer(key, fireAt, payload),
      answer: (sink, answer) => this.#answer(sink, answer),
    };
  }

  /** Deduplication (rule 5): true the first time a producer's sequence number is seen. */
  async #firstDelivery(producer: string, seq: number): Promise<boolean> {
    const last = await this.tx.getDedup(this.ctx.partition, producer);
    if (last !== undefined && seq <= last) return false;
    await this.tx.putDedup(this.ctx.partition, producer, seq);
    return true;
  }

  #answer(sink: IngressSink | undefined, answer: IngressAnswer): void {
    if (sink) this.actions.push({ kind: 'answer', sink, answer });
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
      // The limit key and priority of a limited invocation come from its input headers.
      target: t.flow === undefined ? t : { ...t, flow: { rule: t.flow.rule, ...limitKeyAndPriority(inv.inputEntry) } },
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
    await this.#admit(status);
  }

  /** A request for an invocation that already exists (idempotency key, workflow id): attach to it. */
  async #joinExisting(id: string, inv: NewInvocation): Promise<void> {
    const status = await this.tx.getInvocation(id);
    if (!status || !inv.sink) return;
    if (inv.sinkMode === 'accepted') {
      this.#acknowledge(inv.sink, id, true);
      return;
    }
    // A workflow runs once: calling `run` again is refused, as Restate does (attach gets the result).
    if (isWorkflowRun(status.target)) {
      await this.#deliver(inv.sink, id, WORKFLOW_ALREADY_INVOKED);
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
    if (status?.phase !== 'invoked' || status.commandCount !== cmd.commandIndex) return;
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
          create(pb.GetLazyStateKeysCompletionNotificationMessageSchema, { completionId: m.resultCompletionId, stateKeys: { keys } }),
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
        const childId = childInvocationId(status.id, index, m.serviceName, m.handlerName, m.key, m.idempotencyKey, cmd.callee);
        await this.#notifyInvocationId(status, m.invocationIdNotificationIdx, childId);
        if (!cmd.callee) {
          await this.#callResponse(status.id, m.resultCompletionId, UNKNOWN_TARGET, undefined, status);
          break;
        }
        await this.#sendInvocation(cmd.callee, childId, m.parameter, traced(m.headers, cmd.traceparent), m.idempotencyKey, cmd.now, undefined, {
          kind: 'invocation',
          id: status.id,
          partition: this.ctx.partition,
          completionId: m.resultCompletionId,
        });
        break;
      }
      case MessageType.OneWayCallCommand: {
        const m = fromBinary(pb.OneWayCallCommandMessageSchema, cmd.body);
        const childId = childInvocationId(status.id, index, m.serviceName, m.handlerName, m.key, m.idempotencyKey, cmd.callee);
        await this.#notifyInvocationId(status, m.invocationIdNotificationIdx, childId);
        if (!cmd.callee) break;
        const at = Number(m.invokeTime);
        await this.#sendInvocation(cmd.callee, childId, m.parameter, traced(m.headers, cmd.traceparent), m.idempotencyKey, cmd.now, at > 0 ? at : undefined, undefined);
        break;
      }
      case MessageType.OutputCommand: {
        const m = fromBinary(pb.OutputCommandMessageSchema, cmd.body);
        status.result =
          m.result.case === 'failure'
            ? failureResult(m.result.value)
            : { ok: true, value: m.result.case === 'value' ? m.result.value.content : new Uint8Array() };
        break;
      }
      case MessageType.SendSignalCommand: {
        const m = fromBinary(pb.SendSignalCommandMessageSchema, cmd.body);
        const signal = m.signalId.case === 'idx' ? m.signalId.value : m.signalId.case === 'name' ? m.signalId.value : undefined;
        if (signal === undefined) break;
        await this.#sendSignal(m.targetInvocationId, signal, signalResultOf(m.result));
        break;
      }
      case MessageType.CompleteAwakeableCommand: {
        const m = fromBinary(pb.CompleteAwakeableCommandMessageSchema, cmd.body);
        let target: { invocationId: string; signal: number };
        try {
          target = parseAwakeableId(m.awakeableId);
        } catch {
          break;
        }
        const result: SignalResult =
          m.result.case === 'failure'
            ? { kind: 'failure', code: m.result.value.code, message: m.result.value.message }
            : { kind: 'value', value: m.result.case === 'value' ? m.result.value.content : new Uint8Array() };
        await this.#sendSignal(target.invocationId, target.signal, result);
        break;
      }
      case MessageType.GetPromiseCommand: {
        const m = fromBinary(pb.GetPromiseCommandMessageSchema, cmd.body);
        const promise = await this.tx.getPromise(t.service, key, m.key);
        if (promise?.result) {
          await this.#notify(status, MessageType.GetPromiseCompletionNotification, m.resultCompletionId, promiseNotification(m.resultCompletionId, promise.result));
        } else {
          await this.tx.putPromise(t.service, key, m.key, {
            result: undefined,
            waiters: [...(promise?.waiters ?? []), { id: status.id, completionId: m.resultCompletionId }],
          });
        }
        break;
      }
      case MessageType.PeekPromiseCommand: {
        const m = fromBinary(pb.PeekPromiseCommandMessageSchema, cmd.body);
        const r = (await this.tx.getPromise(t.service, key, m.key))?.result;
        const body = toBinary(
          pb.PeekPromiseCompletionNotificationMessageSchema,
          create(pb.PeekPromiseCompletionNotificationMessageSchema, {
            completionId: m.resultCompletionId,
            result: r === undefined ? { case: 'void', value: {} } : resultOneof(r),
          }),
        );
        await this.#notify(status, MessageType.PeekPromiseCompletionNotification, m.resultCompletionId, body);
        break;
      }
      case MessageType.CompletePromiseCommand: {
        const m = fromBinary(pb.CompletePromiseCommandMessageSchema, cmd.body);
        await this.#completePromise(status, t.service, key, m);
        break;
      }
      case MessageType.AttachInvocationCommand:
      case MessageType.GetInvocationOutputCommand: {
        const attach = cmd.type === MessageType.AttachInvocationCommand;
        const m = attach
          ? fromBinary(pb.AttachInvocationCommandMessageSchema, cmd.body)
          : fromBinary(pb.GetInvocationOutputCommandMessageSchema, cmd.body);
        const targetId = attachTargetId(m.target);
        const notificationType = attach ? MessageType.AttachInvocationCompletionNotification : MessageType.GetInvocationOutputCompletionNotification;
        if (targetId === undefined) {
          await this.#callResponse(status.id, m.resultCompletionId, { ok: false, code: 404, message: 'invocation not found' }, notificationType, status);
          break;
        }
        await this.#outbox({
          partition: this.ctx.partitioner.partitionOfInvocation(targetId),
          command: {
            kind: 'attach',
            id: targetId,
            mode: attach ? 'attach' : 'output',
            sink: { kind: 'invocation', id: status.id, partition: this.ctx.partition, completionId: m.resultCompletionId, notificationType },
          },
        });
        break;
      }
      default:
        // Commands whose effect is the journal entry itself (Run, GetEagerState, custom entries, ...).
        break;
    }
    await this.tx.putInvocation(status);
  }

  async #notifyInvocationId(status: InvocationStatus, completionId: number, childId: string): Promise<void> {
    const body = toBinary(
      pb.CallInvocationIdCompletionNotificationMessageSchema,
      create(pb.CallInvocationIdCompletionNotificationMessageSchema, { completionId, invocationId: childId }),
    );
    await this.#notify(status, MessageType.CallInvocationIdCompletionNotification, completionId, body);
  }

  async #sendInvocation(
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
    await this.#outbox({
      partition: this.ctx.partitioner.partitionOfInvocation(childId),
      command: {
        kind: 'invoke',
        invocation: { id: childId, target: callee, inputEntry, idempotencyKey, executeAt, createdAt: now, sink, sinkMode: 'result' },
      },
    });
  }

  async #sendSignal(target: string, signal: number | string, result: SignalResult): Promise<void> {
    let partition: number;
    try {
      partition = this.ctx.partitioner.partitionOfInvocation(target);
    } catch (err) {
      if (err instanceof IdDecodeError) return;
      throw err;
    }
    if (signal === CANCEL_SIGNAL) {
      await this.#outbox({ partition, command: { kind: 'op', op: 'cancel', id: target, now: 0 } });
      return;
    }
    await this.#outbox({ partition, command: { kind: 'signal', id: target, signal, result } });
  }

  /**
   * Messages to any partition (this one included) go through the outbox, deduplicated at the
   * target — or, when the commit loop takes them, straight into the batch being applied. A
   * message goes to the batch only while this partition's outbox is empty: one still waiting
   * there (left from before a restart, or bound for a partition committed elsewhere) must not
   * be overtaken by a later message from here.
   */
  async #outbox(message: OutboxMessage): Promise<void> {
    const local = this.ctx.local;
    if (local?.accepts(message.partition) && !(await this.tx.hasOutbox(this.ctx.partition))) {
      local.deliver(message);
      return;
    }
    this.actions.push(await enqueueOutbox(this.tx, this.ctx.partition, message));
  }

  /**
   * Appends a notification to the journal and wakes the invocation if it waits for it: a live
   * attempt gets it on its stream, a suspended one is invoked again.
   */
  async #notify(status: InvocationStatus, type: number, completionId: number, body: Uint8Array): Promise<void> {
    const index = status.journalLength;
    await this.tx.appendJournal(status.id, { index, type, completionId, body });
    status.journalLength += 1;
    this.#wake(status, index, type, body, status.waiting?.completions.includes(completionId) ?? false);
  }

  #wake(status: InvocationStatus, index: number, type: number, body: Uint8Array, awaited: boolean): void {
    if (status.phase === 'invoked') {
      this.actions.push({ kind: 'notify', id: status.id, index, type, body });
    } else if (status.phase === 'suspended' && awaited) {
      status.phase = 'invoked';
      status.waiting = undefined;
      this.actions.push({ kind: 'invoke', id: status.id, partition: this.ctx.partition });
    }
  }

  async #runCompletion(id: string, completionId: number, result: InvocationResult): Promise<void> {
    const status = await this.tx.getInvocation(id);
    if (status?.phase !== 'invoked') return;
    if (await this.tx.hasCompletion(id, completionId)) return;
    const body = toBinary(
      pb.RunCompletionNotificationMessageSchema,
      create(pb.RunCompletionNotificationMessageSchema, { completionId, result: resultOneof(result) }),
    );
    await this.#notify(status, MessageType.RunCompletionNotification, completionId, body);
    await this.tx.putInvocation(status);
  }

  async #callResponse(
    id: string,
    completionId: number,
    result: InvocationResult | undefined,
    notificationType = MessageType.CallCompletionNotification as number,
    known?: InvocationStatus,
  ): Promise<void> {
    const status = known ?? (await this.tx.getInvocation(id));
    if (!status || status.phase === 'completed') return;
    if (await this.tx.hasCompletion(id, completionId)) return;
    const oneof = result === undefined ? ({ case: 'void', value: {} } as const) : resultOneof(result);
    let body: Uint8Array;
    switch (notificationType) {
      case MessageType.AttachInvocationCompletionNotification:
        body = toBinary(pb.AttachInvocationCompletionNotificationMessageSchema, create(pb.AttachInvocationCompletionNotificationMessageSchema, { completionId, result: result ? resultOneof(result) : { case: undefined } }));
        break;
      case MessageType.GetInvocationOutputCompletionNotification:
        body = toBinary(pb.GetInvocationOutputCompletionNotificationMessageSchema, create(pb.GetInvocationOutputCompletionNotificationMessageSchema, { completionId, result: oneof }));
        break;
      default:
        body = toBinary(pb.CallCompletionNotificationMessageSchema, create(pb.CallCompletionNotificationMessageSchema, { completionId, result: result ? resultOneof(result) : { case: undefined } }));
    }
    await this.#notify(status, notificationType, completionId, body);
    if (!known) await this.tx.putInvocation(status);
  }

  async #suspend(cmd: Extract<Command, { kind: 'suspend' }>): Promise<void> {
    const status = await this.tx.getInvocation(cmd.id);
    if (status?.phase !== 'invoked') return;
    // Something it waits for may have been journaled after the SDK last heard from us.
    let ready = false;
    for (const c of cmd.completions) if (!ready && (await this.tx.hasCompletion(cmd.id, c))) ready = true;
    for (const s of [...cmd.signals, ...cmd.namedSignals]) if (!ready && (await this.tx.hasSignal(cmd.id, s))) ready = true;
    if (ready) {
      this.actions.push({ kind: 'invoke', id: cmd.id, partition: this.ctx.partition });
      return;
    }
    status.phase = 'suspended';
    status.waiting = { completions: [...cmd.completions], signals: [...cmd.signals], namedSignals: [...cmd.namedSignals] };
    await this.tx.putInvocation(status);
  }

  // ---- signals, awakeables, promises ----

  async #signal(id: string, signal: number | string, result: SignalResult, sink: IngressSink | undefined): Promise<void> {
    const status = await this.tx.getInvocation(id);
    if (!status || status.phase === 'completed') {
      this.#answer(sink, { kind: 'op', id, outcome: status ? 'completed' : 'not-found' });
      return;
    }
    this.#answer(sink, { kind: 'op', id, outcome: 'done' });
    // The first completion of a signal wins; later ones change nothing.
    if (await this.tx.hasSignal(id, signal)) return;
    await this.#journalSignal(status, signal, result);
    await this.tx.putInvocation(status);
  }

  async #journalSignal(status: InvocationStatus, signal: number | string, result: SignalResult): Promise<void> {
    const body = toBinary(
      pb.SignalNotificationMessageSchema,
      create(pb.SignalNotificationMessageSchema, {
        signalId: typeof signal === 'number' ? { case: 'idx', value: signal } : { case: 'name', value: signal },
        result:
          result.kind === 'void'
            ? { case: 'void', value: {} }
            : result.kind === 'value'
              ? { case: 'value', value: { content: result.value } }
              : { case: 'failure', value: { code: result.code, message: result.message } },
      }),
    );
    const index = status.journalLength;
    await this.tx.appendJournal(status.id, {
      index,
      type: MessageType.SignalNotification,
      completionId: typeof signal === 'number' ? signal : undefined,
      signalName: typeof signal === 'string' ? signal : undefined,
      body,
    });
    status.journalLength += 1;
    const w = status.waiting;
    const awaited =
      signal === CANCEL_SIGNAL ||
      (typeof signal === 'number' ? (w?.signals.includes(signal) ?? false) : (w?.namedSignals.includes(signal) ?? false));
    this.#wake(status, index, MessageType.SignalNotification, body, awaited);
  }

  async #completePromise(
    status: InvocationStatus,
    service: string,
    key: string,
    m: pb.CompletePromiseCommandMessage,
  ): Promise<void> {
    const existing = await this.tx.getPromise(service, key, m.key);
    const reply = (failure?: InvocationResult & { ok: false }) =>
      toBinary(
        pb.CompletePromiseCompletionNotificationMessageSchema,
        create(pb.CompletePromiseCompletionNotificationMessageSchema, {
          completionId: m.resultCompletionId,
          result: failure ? { case: 'failure', value: { code: failure.code, message: failure.message } } : { case: 'void', value: {} },
        }),
      );
    if (existing?.result) {
      const failure = { ok: false as const, code: 409, message: 'promise was already completed' };
      await this.#notify(status, MessageType.CompletePromiseCompletionNotification, m.resultCompletionId, reply(failure));
      return;
    }
    const result: InvocationResult =
      m.completion.case === 'completionFailure'
        ? failureResult(m.completion.value)
        : { ok: true, value: m.completion.case === 'completionValue' ? m.completion.value.content : new Uint8Array() };
    await this.tx.putPromise(service, key, m.key, { result, waiters: [] });
    await this.#notify(status, MessageType.CompletePromiseCompletionNotification, m.resultCompletionId, reply());
    // Waiters are invocations of the same workflow key, hence of this partition.
    for (const w of existing?.waiters ?? []) {
      const waiter = w.id === status.id ? status : await this.tx.getInvocation(w.id);
      if (!waiter || waiter.phase === 'completed') continue;
      await this.#notify(waiter, MessageType.GetPromiseCompletionNotification, w.completionId, promiseNotification(w.completionId, result));
      if (waiter !== status) await this.tx.putInvocation(waiter);
    }
  }

  // ---- completion ----

  async #endCommand(id: string, now: number, failure: InvocationResult | undefined): Promise<void> {
    const status = await this.tx.getInvocation(id);
    if (!status || status.phase === 'completed') return;
    if (!failure && status.phase !== 'invoked') return;
    await this.#complete(status, now, failure);
  }

  async #complete(status: InvocationStatus, now: number, override: InvocationResult | undefined): Promise<void> {
    const id = status.id;
    const result: InvocationResult = override ??
      status.result ?? { ok: false, code: 500, message: 'invocation ended without an output' };
    const before = status.phase;
    status.result = result;
    status.phase = 'completed';
    status.completedAt = now;
    status.modifiedAt = now;
    status.waiting = undefined;
    for (const sink of status.sinks) await this.#deliver(sink, id, result, now);
    status.sinks = [];
    await this.tx.putInvocation(status);
    // The input stays: restart-as-new needs it. The rest of the journal goes.
    await this.tx.deleteJournal(id, 1);
    // An invocation that ended by itself has no attempt left to stop; one ended from outside
    // (kill, cancel before start, exhausted retries) may.
    if (override) this.actions.push({ kind: 'abort', id });
    await this.#putTimer(`cleanup:${id}`, now + status.target.retentionMs, { kind: 'cleanup', id });
    if (before !== 'inboxed' && before !== 'scheduled') await this.#releaseLock(status);
    // Whatever it holds of a flow limit goes back; the rule's partition knows what that is.
    const flow = status.target.flow;
    if (flow !== undefined) {
      await this.#outbox({
        partition: this.#flowPartition(flow.rule),
        command: { kind: 'flow', op: 'release', rule: flow.rule, limitKey: flow.limitKey, invocationId: id, now },
      });
    }
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
      if (nextStatus?.phase !== 'inboxed') continue;
      await this.#start(nextStatus);
      return;
    }
  }

  async #deliver(sink: Sink, id: string, result: InvocationResult, now = 0): Promise<void> {
    if (sink.kind === 'ingress') {
      this.actions.push({ kind: 'answer', sink, answer: { kind: 'result', id, result } });
      return;
    }
    if (sink.kind === 'schedule') {
      // The schedule learns that its tick's invocation ended (overlap policy).
      await this.#outbox({ partition: sink.partition, command: { kind: 'schedule', op: 'done', id: sink.id, invocationId: id, now } });
      return;
    }
    // Awaited by another invocation: goes through the outbox to the caller's partition.
    await this.#outbox({
      partition: sink.partition,
      command: {
        kind: 'call-response',
        id: sink.id,
        completionId: sink.completionId,
        result,
        notificationType: sink.notificationType,
      },
    });
  }

  #acknowledge(sink: Sink, id: string, previously: boolean): void {
    if (sink.kind === 'ingress') this.actions.push({ kind: 'answer', sink, answer: { kind: 'accepted', id, previously } });
  }

  // ---- operator commands ----

  async #op(cmd: Extract<Command, { kind: 'op' }>): Promise<void> {
    const status = await this.tx.getInvocation(cmd.id);
    const answer = (outcome: Extract<IngressAnswer, { kind: 'op' }>['outcome'], newId?: string) =>
      this.#answer(cmd.sink, { kind: 'op', id: cmd.id, outcome, ...(newId ? { newId } : {}) });
    if (!status) return answer('not-found');
    switch (cmd.op) {
      case 'cancel':
        if (status.phase === 'completed') return answer('completed');
        if (status.phase === 'scheduled' || status.phase === 'inboxed') {
          await this.#complete(status, cmd.now || status.modifiedAt, CANCELED);
          return answer('done');
        }
        if (!(await this.tx.hasSignal(status.id, CANCEL_SIGNAL))) {
          if (status.phase === 'paused') {
            status.phase = 'invoked';
            this.actions.push({ kind: 'invoke', id: status.id, partition: this.ctx.partition });
          }
          await this.#journalSignal(status, CANCEL_SIGNAL, { kind: 'void' });
          await this.tx.putInvocation(status);
        }
        return answer('done');
      case 'kill':
        if (status.phase === 'completed') return answer('completed');
        await this.#killChildren(status);
        await this.#complete(status, cmd.now || status.modifiedAt, KILLED);
        return answer('done');
      case 'pause':
        if (status.phase === 'completed') return answer('completed');
        if (status.phase === 'paused') return answer('already-paused');
        if (status.phase !== 'invoked' && status.phase !== 'suspended') return answer('not-paused');
        status.phase = 'paused';
        status.waiting = undefined;
        status.modifiedAt = cmd.now;
        await this.tx.putInvocation(status);
        this.actions.push({ kind: 'abort', id: status.id });
        return answer('done');
      case 'resume':
        if (status.phase === 'completed') return answer('completed');
        if (status.phase !== 'paused') return answer('not-paused');
        status.phase = 'invoked';
        status.modifiedAt = cmd.now;
        await this.tx.putInvocation(status);
        this.actions.push({ kind: 'invoke', id: status.id, partition: this.ctx.partition });
        return answer('done');
      case 'purge':
        if (status.phase !== 'completed') return answer('not-completed');
        await this.#purge(status);
        return answer('done');
      case 'restart-as-new': {
        if (status.phase !== 'completed') return answer('not-completed');
        const input = (await this.tx.readJournal(status.id))[0];
        if (!input || !cmd.newId) return answer('not-found');
        const target = status.target;
        const invocation: NewInvocation = {
          id: cmd.newId, target, inputEntry: input.body, idempotencyKey: undefined, executeAt: undefined, createdAt: cmd.now, sink: undefined, sinkMode: 'result',
        };
        // The admin API answers with the new id as soon as this commits, and the client attaches
        // to it next: the new invocation must exist by then. Its id carries this invocation's
        // partition key, so it is created here, in this apply. (An id on another partition, from
        // a producer that chose it otherwise, still takes the outbox.)
        const partition = this.ctx.partitioner.partitionOfInvocation(cmd.newId);
        if (partition === this.ctx.partition) await this.#invoke(invocation);
        else await this.#outbox({ partition, command: { kind: 'invoke', invocation } });
        return answer('done', cmd.newId);
      }
    }
  }

  /**
   * Replaces a key's state. Refused while an invocation holds the key (its handler would see
   * its state change under it) and when the state no longer has the version the operator saw.
   */
  async #stateMutation(cmd: Extract<Command, { kind: 'state-mutation' }>): Promise<void> {
    const answer = (outcome: 'done' | 'busy' | 'version-mismatch', holder?: string) =>
      this.#answer(cmd.sink, { kind: 'state', outcome, ...(holder !== undefined ? { holder } : {}) });
    const holder = await this.tx.getLock(cmd.service, cmd.key);
    if (holder !== undefined) return answer('busy', holder);
    if (cmd.version !== undefined && stateVersion(await this.tx.getAllState(cmd.service, cmd.key)) !== cmd.version) {
      return answer('version-mismatch');
    }
    await this.tx.clearAllState(cmd.service, cmd.key);
    for (const [name, value] of cmd.entries) await this.tx.setState(cmd.service, cmd.key, name, value);
    return answer('done');
  }

  /** Kill propagates down the call tree: every call still waiting for its answer is killed too. */
  async #killChildren(status: InvocationStatus): Promise<void> {
    const journal = await this.tx.readJournal(status.id);
    const answered = new Set(journal.filter((e) => e.type === MessageType.CallCompletionNotification).map((e) => e.completionId));
    for (const e of journal) {
      if (e.type !== MessageType.CallCommand) continue;
      const m = fromBinary(pb.CallCommandMessageSchema, e.body);
      if (answered.has(m.resultCompletionId)) continue;
      const idEntry = journal.find(
        (x) => x.type === MessageType.CallInvocationIdCompletionNotification && x.completionId === m.invocationIdNotificationIdx,
      );
      if (!idEntry) continue;
      const childId = fromBinary(pb.CallInvocationIdCompletionNotificationMessageSchema, idEntry.body).invocationId;
      await this.#outbox({
        partition: this.ctx.partitioner.partitionOfInvocation(childId),
        command: { kind: 'op', op: 'kill', id: childId, now: 0 },
      });
    }
  }

  async #purge(status: InvocationStatus): Promise<void> {
    const t = status.target;
    if (status.idempotencyKey !== undefined) {
      const owner = await this.tx.getIdempotency(t.service, t.key ?? '', t.handler, status.idempotencyKey);
      if (owner === status.id) await this.tx.deleteIdempotency(t.service, t.key ?? '', t.handler, status.idempotencyKey);
    }
    // A workflow's state and promises live as long as its run.
    if (isWorkflowRun(t)) {
      await this.tx.clearAllState(t.service, t.key ?? '');
      await this.tx.deleteAllPromises(t.service, t.key ?? '');
    }
    await this.tx.deleteInvocation(status.id);
    await this.tx.deleteJournal(status.id);
    await this.tx.deleteTimer(this.ctx.partition, `cleanup:${status.id}`);
  }

  // ---- timers ----

  async #putTimer(key: string, fireAt: number, payload: TimerPayload): Promise<void> {
    await this.tx.putTimer({ partition: this.ctx.partition, key, fireAt, payload });
    this.actions.push({ kind: 'timer', partition: this.ctx.partition, key, fireAt });
  }

  async #timerFired(key: string, now: number): Promise<void> {
    const timer = await this.tx.getTimer(this.ctx.partition, key);
    // A schedule's timer fires as a schedule tick, which carries the resolved target; a plain
    // timer-fired for it must not consume it.
    if (!timer || timer.payload.kind === 'schedule') return;
    await this.tx.deleteTimer(this.ctx.partition, key);
    const p = timer.payload;
    if (p.kind === 'flow') {
      const limiter = parseFlowTimerKey(p.id);
      if (limiter) await pumpFlowTimer(this.#flowHost(), limiter.rule, limiter.limitKey, now);
      return;
    }
    const status = await this.tx.getInvocation(p.id);
    if (!status) return;
    switch (p.kind) {
      case 'sleep': {
        if (status.phase === 'completed') return;
        const body = toBinary(
          pb.SleepCompletionNotificationMessageSchema,
          create(pb.SleepCompletionNotificationMessageSchema, { completionId: p.completionId, void: {} }),
        );
        await this.#notify(status, MessageType.SleepCompletionNotification, p.completionId, body);
        status.modifiedAt = now;
        await this.tx.putInvocation(status);
        return;
      }
      case 'scheduled-invoke':
        if (status.phase !== 'scheduled') return;
        status.modifiedAt = now;
        await this.#admit(status);
        return;
      case 'cleanup':
        if (status.phase === 'completed') await this.#purge(status);
        return;
    }
  }

  // ---- attach / output ----

  async #attach(id: string, mode: 'attach' | 'output', sink: Sink): Promise<void> {
    // Schedules learn of completions through the invocation's own sinks, never by attaching.
    if (sink.kind === 'schedule') return;
    const status = await this.tx.getInvocation(id);
    if (sink.kind === 'invocation') {
      if (status?.phase === 'completed' && status.result) return this.#deliver(sink, id, status.result);
      if (!status) return this.#deliver(sink, id, { ok: false, code: 404, message: 'invocation not found' });
      if (mode === 'output') {
        // "Not ready yet" is an empty completion for get-output.
        await this.#outbox({
          partition: sink.partition,
          command: { kind: 'call-response', id: sink.id, completionId: sink.completionId, result: undefined, notificationType: sink.notificationType },
        });
        return;
      }
      status.sinks.push(sink);
      await this.tx.putInvocation(status);
      return;
    }
    if (!status) return this.#answer(sink, { kind: 'not-found', id });
    if (status.phase === 'completed' && status.result) return this.#deliver(sink, id, status.result);
    if (mode === 'output') return this.#answer(sink, { kind: 'not-ready', id });
    status.sinks.push(sink);
    await this.tx.putInvocation(status);
  }
}

function isWorkflowRun(t: ResolvedTarget): boolean {
  return t.serviceType === 'WORKFLOW' && t.handlerType === 'WORKFLOW';
}

/** Exclusive handlers of virtual objects, and workflow `run` handlers, hold their key's lock. */
function holdsLock(t: ResolvedTarget): boolean {
  return (
    (t.serviceType === 'VIRTUAL_OBJECT' && t.handlerType !== 'SHARED') ||
    (t.serviceType === 'WORKFLOW' && t.handlerType === 'WORKFLOW')
  );
}

/** The id of an invocation made by a handler: derived, so replaying the journal gives the same id. */
function childInvocationId(
  parent: string,
  index: number,
  service: string,
  handler: string,
  key: string,
  idempotencyKey: string | undefined,
  callee: ResolvedTarget | undefined,
): string {
  if (callee && isWorkflowRun(callee)) return workflowRunId(service, key);
  // Keyed callees are partitioned by their key (even an empty one); the others by the id itself.
  const k = callee ? callee.key : key === '' ? undefined : key;
  if (idempotencyKey !== undefined) return idempotentInvocationId(service, k, handler, idempotencyKey);
  return formatInvocationId(deriveInvocationId(`${parent}#${index}`, k));
}

function attachTargetId(target: pb.AttachInvocationCommandMessage['target']): string | undefined {
  switch (target.case) {
    case 'invocationId':
      try {
        parseInvocationId(target.value);
        return target.value;
      } catch {
        return undefined;
      }
    case 'workflowTarget':
      return workflowRunId(target.value.workflowName, target.value.workflowKey);
    case 'idempotentRequestTarget': {
      const t = target.value;
      return idempotentInvocationId(t.serviceName, t.serviceKey, t.handlerName, t.idempotencyKey);
    }
    default:
      return undefined;
  }
}

function failureResult(f: pb.Failure): InvocationResult {
  return { ok: false, code: f.code, message: f.message, metadata: f.metadata.map((x) => [x.key, x.value] as const) };
}

function signalResultOf(r: pb.SendSignalCommandMessage['result']): SignalResult {
  switch (r.case) {
    case 'value':
      return { kind: 'value', value: r.value.content };
    case 'failure':
      return { kind: 'failure', code: r.value.code, message: r.value.message };
    default:
      return { kind: 'void' };
  }
}

function promiseNotification(completionId: number, result: InvocationResult): Uint8Array {
  return toBinary(
    pb.GetPromiseCompletionNotificationMessageSchema,
    create(pb.GetPromiseCompletionNotificationMessageSchema, { completionId, result: resultOneof(result) }),
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

/**
 * The callee's input headers: the call's own, with the trace context the caller's invoker chose
 * for the call (it replaces one the handler may have set). Pure: the traceparent comes with
 * the command.
 */
function traced(headers: { key: string; value: string }[], traceparent: string | undefined): { key: string; value: string }[] {
  if (traceparent === undefined) return headers;
  return [...headers.filter((h) => h.key.toLowerCase() !== 'traceparent'), { key: 'traceparent', value: traceparent }];
}

/**
 * Puts `message` in partition `source`'s outbox under the next outbox sequence, which is also its
 * dedup id at the target (rule 5), and returns the action that hands it to the shuffle.
 */
export async function enqueueOutbox(tx: PartitionTx, source: number, message: OutboxMessage): Promise<Action> {
  const fsm = await tx.getFsm(source);
  fsm.outboxSeq += 1;
  await tx.putFsm(source, fsm);
  const seq = fsm.outboxSeq;
  const command = { ...message.command, dedup: { producer: `outbox-${source}`, seq } } as Command;
  await tx.putOutbox(source, seq, encodeCommand(command, message.partition));
  return { kind: 'shuffle', partition: source, seq, message: { partition: message.partition, command } };
}
