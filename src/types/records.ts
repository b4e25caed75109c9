/**
 * The records a partition works on: log commands (the input of its state machine), invocation
 * status records (its main state), timers, outbox messages and actions (its output, carried out
 * by the leader after commit). Everything here is plain data so it can be written to the log and
 * the store as is. It lives in types/ because the log, the store, the worker, the invoker and the
 * ingress all speak it, and the log and the store must not depend on the worker (DESIGN.md §2).
 */
import type { FlowRule, FlowTag } from '../flow/model.ts';
import type { ScheduleSpec } from '../schedule/model.ts';

/** How a service is addressed. */
export type ServiceType = 'SERVICE' | 'VIRTUAL_OBJECT' | 'WORKFLOW';
/** How a handler of a keyed service runs: exclusive handlers hold the key's lock. */
export type HandlerType = 'EXCLUSIVE' | 'SHARED' | 'WORKFLOW' | undefined;

/** Outcome of an invocation, or of a call it made. */
export type InvocationResult =
  | { readonly ok: true; readonly value: Uint8Array }
  | { readonly ok: false; readonly code: number; readonly message: string; readonly metadata?: readonly (readonly [string, string])[] };

/** Where an answer goes once an invocation completes (or is accepted). */
export type Sink =
  /** A request waiting on an ingress node; answered through that node's response registry. */
  | { readonly kind: 'ingress'; readonly node: string; readonly requestId: number }
  /** Another invocation waiting on a call (or attach / get-output) completion. */
  | {
      readonly kind: 'invocation';
      readonly id: string;
      readonly partition: number;
      readonly completionId: number;
      /** Notification type to journal; defaults to CallCompletionNotification. */
      readonly notificationType?: number;
    }
  /** A schedule tracking the invocation of one of its ticks (overlap policy). */
  | { readonly kind: 'schedule'; readonly id: string; readonly partition: number };

/** A sink on an ingress or admin request of some node. */
export type IngressSink = Extract<Sink, { kind: 'ingress' }>;

/** The payload of a signal: awakeable results, cancel. */
export type SignalResult =
  | { readonly kind: 'void' }
  | { readonly kind: 'value'; readonly value: Uint8Array }
  | { readonly kind: 'failure'; readonly code: number; readonly message: string };

/** Operator commands on one invocation. */
export type InvocationOp = 'cancel' | 'kill' | 'pause' | 'resume' | 'purge' | 'restart-as-new';

/** Identifies the producer of a command and its position, so a retried append applies once. */
export interface Dedup {
  readonly producer: string;
  readonly seq: number;
}

/** Target facts resolved from the schema registry by whoever created the command. */
export interface ResolvedTarget {
  readonly service: string;
  readonly handler: string;
  readonly key: string | undefined;
  readonly serviceType: ServiceType;
  readonly handlerType: HandlerType;
  readonly deploymentId: string;
  readonly retentionMs: number;
  /** The flow rule that limits this target (flow/index.ts), found by the resolver. */
  readonly flow?: FlowTag;
}

/** Everything needed to create an invocation. */
export interface NewInvocation {
  readonly id: string;
  readonly target: ResolvedTarget;
  /** Body of the InputCommand journal entry (protobuf), built by the producer. */
  readonly inputEntry: Uint8Array;
  readonly idempotencyKey: string | undefined;
  /** Epoch ms at which to run; absent or past means now. */
  readonly executeAt: number | undefined;
  /** Epoch ms of creation, taken by the producer: apply never reads the clock. */
  readonly createdAt: number;
  /** Who waits for the result, and whether they only want to know it was accepted. */
  readonly sink: Sink | undefined;
  readonly sinkMode: 'result' | 'accepted';
}

/** Commands: the records of a partition's log. */
export type Command =
  | { readonly kind: 'invoke'; readonly invocation: NewInvocation; readonly dedup?: Dedup }
  | {
      readonly kind: 'journal-command';
      readonly id: string;
      readonly commandIndex: number;
      readonly type: number;
      readonly body: Uint8Array;
      readonly now: number;
      /** For calls and sends: the resolved callee (absent when the callee is unknown). */
      readonly callee?: ResolvedTarget;
      /** For calls and sends, when traced: the W3C traceparent the callee's invocation hangs under. */
      readonly traceparent?: string;
    }
  | {
      readonly kind: 'run-completion';
      readonly id: string;
      readonly completionId: number;
      readonly result: InvocationResult;
    }
  | {
      readonly kind: 'suspend';
      readonly id: string;
      readonly completions: readonly number[];
      readonly signals: readonly number[];
      readonly namedSignals: readonly string[];
    }
  | { readonly kind: 'end'; readonly id: string; readonly now: number }
  | { readonly kind: 'fail'; readonly id: string; readonly now: number; readonly result: InvocationResult }
  | {
      readonly kind: 'call-response';
      readonly id: string;
      readonly completionId: number;
      readonly result: InvocationResult | undefined;
      readonly notificationType?: number;
      /** Set by the outbox; absent when the response was applied in the batch that produced it. */
      readonly dedup?: Dedup;
    }
  | {
      readonly kind: 'signal';
      readonly id: string;
      readonly signal: number | string;
      readonly result: SignalResult;
      readonly sink?: IngressSink;
      readonly dedup?: Dedup;
    }
  | {
      readonly kind: 'op';
      readonly op: InvocationOp;
      readonly id: string;
      readonly now: number;
      /** For restart-as-new: the id of the new invocation, chosen by the producer. */
      readonly newId?: string;
      readonly sink?: IngressSink;
      readonly dedup?: Dedup;
    }
  | { readonly kind: 'timer-fired'; readonly timerKey: string; readonly now: number }
  | {
      readonly kind: 'attach';
      readonly id: string;
      readonly mode: 'attach' | 'output';
      readonly sink: Sink;
      readonly dedup?: Dedup;
    }
  | { readonly kind: 'outbox-delivered'; readonly upTo: number }
  | {
      /** An operator replaces a key's whole state (Restate's external state mutation). */
      readonly kind: 'state-mutation';
      readonly service: string;
      readonly key: string;
      readonly entries: readonly (readonly [Uint8Array, Uint8Array])[];
      /** The state version the operator saw; the mutation applies only if it still holds. */
      readonly version?: string;
      readonly sink?: IngressSink;
      readonly dedup?: Dedup;
    }
  | ScheduleCommand
  | FlowCommand;

/**
 * Commands of flow control (flow/index.ts): on a rule's partition `put-rule`, `delete-rule`,
 * `acquire` and `release`; on an invocation's partition `grant` and `debounced`.
 */
export type FlowOp = 'put-rule' | 'delete-rule' | 'acquire' | 'release' | 'grant' | 'debounced';

/** A command of flow control on rule `rule`. */
export interface FlowCommand {
  readonly kind: 'flow';
  readonly op: FlowOp;
  readonly rule: string;
  readonly now: number;
  /** For acquire and release: the limiter's key. */
  readonly limitKey?: string;
  /** For put-rule: the new rule. */
  readonly spec?: FlowRule;
  /** For acquire, release, grant, debounced: the invocation. */
  readonly invocationId?: string;
  /** For acquire: the invocation's partition and priority. */
  readonly partition?: number;
  readonly priority?: number;
  readonly sink?: IngressSink;
  readonly dedup?: Dedup;
}

/** Commands on a schedule (schedule/index.ts): by operators, the timer, and its own invocations. */
export type ScheduleOp = 'put' | 'delete' | 'pause' | 'resume' | 'trigger' | 'backfill' | 'tick' | 'done';

/** A command on the schedule `id`, applied by the partition that owns hash(id). */
export interface ScheduleCommand {
  readonly kind: 'schedule';
  readonly op: ScheduleOp;
  readonly id: string;
  readonly now: number;
  /** For put: the new definition. */
  readonly spec?: ScheduleSpec;
  /** For tick, trigger, backfill: the target resolved when the command was made; absent if unknown. */
  readonly target?: ResolvedTarget;
  /** For backfill: the time range, both ends included. */
  readonly from?: number;
  readonly to?: number;
  /** For done: the tick's invocation that completed. */
  readonly invocationId?: string;
  readonly sink?: IngressSink;
  readonly dedup?: Dedup;
}

/** Lifecycle of an invocation as the partition sees it. */
export type InvocationPhase = 'scheduled' | 'inboxed' | 'invoked' | 'suspended' | 'paused' | 'completed';

/** The status record of one invocation. */
export interface InvocationStatus {
  id: string;
  partition: number;
  phase: InvocationPhase;
  target: ResolvedTarget;
  idempotencyKey: string | undefined;
  createdAt: number;
  modifiedAt: number;
  completedAt: number | undefined;
  /** Number of journal entries (commands and notifications). */
  journalLength: number;
  /** Number of commands in the journal (the Input command is command 0). */
  commandCount: number;
  waiting: { completions: number[]; signals: number[]; namedSignals: string[] } | undefined;
  sinks: Sink[];
  /** Set by the Output command; final once the invocation ends. */
  result: InvocationResult | undefined;
}

/** A durable timer. */
export type TimerPayload =
  | { readonly kind: 'sleep'; readonly id: string; readonly completionId: number }
  | { readonly kind: 'scheduled-invoke'; readonly id: string }
  | { readonly kind: 'cleanup'; readonly id: string }
  /** The next tick of schedule `id`. */
  | { readonly kind: 'schedule'; readonly id: string }
  /** Pumps the limiter of a flow rule and limit key (`id` is its timer key, flowTimerKey). */
  | { readonly kind: 'flow'; readonly id: string };

/** Messages from one partition to another, delivered by the leader's shuffle. */
export interface OutboxMessage {
  readonly partition: number;
  readonly command: Command;
}

/** Answers for a request waiting on the ingress. */
export type IngressAnswer =
  | { readonly kind: 'result'; readonly id: string; readonly result: InvocationResult }
  | { readonly kind: 'accepted'; readonly id: string; readonly previously: boolean }
  | { readonly kind: 'not-found'; readonly id: string }
  | { readonly kind: 'not-ready'; readonly id: string }
  /** Outcome of a state mutation; `busy` names the invocation holding the key. */
  | { readonly kind: 'state'; readonly outcome: 'done' | 'busy' | 'version-mismatch'; readonly holder?: string }
  /** Outcome of an operator command. */
  | {
      readonly kind: 'op';
      readonly id: string;
      readonly outcome: 'done' | 'not-found' | 'completed' | 'not-completed' | 'already-paused' | 'not-paused';
      readonly newId?: string;
    };

/** Actions: what the leader does after an apply committed. */
export type Action =
  | { readonly kind: 'invoke'; readonly id: string; readonly partition: number }
  | { readonly kind: 'notify'; readonly id: string; readonly index: number; readonly type: number; readonly body: Uint8Array }
  | { readonly kind: 'answer'; readonly sink: IngressSink; readonly answer: IngressAnswer }
  | { readonly kind: 'timer'; readonly partition: number; readonly key: string; readonly fireAt: number }
  | { readonly kind: 'shuffle'; readonly partition: number; readonly seq: number; readonly message: OutboxMessage }
  | { readonly kind: 'abort'; readonly id: string };
