/**
 * The data of flow control: a rule (what the operator configured for a service or a handler)
 * and a limiter (the live counters of one rule for one limit key). Plain data, so it can be
 * written to the log and the store as is.
 */

/** Header naming the limit key: invocations with different keys have independent limits. */
export const LIMIT_KEY_HEADER = 'x-endure-limit-key';
/** Header with the priority of an invocation (an integer; higher starts first; default 0). */
export const PRIORITY_HEADER = 'x-endure-priority';

/** Bounds of a rule's numbers, so that no input makes a limiter misbehave. */
export const MAX_CONCURRENCY = 1_000_000;
export const MAX_RATE_COUNT = 1_000_000;
export const MIN_INTERVAL_MS = 1;
export const MAX_INTERVAL_MS = 24 * 60 * 60 * 1000;
export const MAX_DEBOUNCE_MS = 24 * 60 * 60 * 1000;
export const MIN_PRIORITY = -1_000_000;
export const MAX_PRIORITY = 1_000_000;
/** Longest limit key taken from a header; longer ones are refused at the ingress. */
export const MAX_LIMIT_KEY_LENGTH = 256;

/** At most `count` starts per `intervalMs`, with up to `burst` at once (token bucket). */
export interface FlowRate {
  readonly count: number;
  readonly intervalMs: number;
  readonly burst: number;
}

/**
 * A flow rule for a service (`id` = "Service") or one of its handlers ("Service/handler").
 * The most specific rule applies: a handler's rule replaces its service's rule for it.
 */
export interface FlowRule {
  readonly id: string;
  readonly service: string;
  readonly handler: string | undefined;
  /** At most this many invocations run at once (started and not completed). */
  readonly concurrency: number | undefined;
  readonly rate: FlowRate | undefined;
  /** Of the invocations of one limit key arriving within this window of each other, only the last runs. */
  readonly debounceMs: number | undefined;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** An invocation known to a limiter: where it lives and how it ranks. */
export interface FlowWaiter {
  readonly id: string;
  readonly partition: number;
  readonly priority: number;
  /** Arrival order at the limiter: ties of priority start in this order. */
  readonly seq: number;
}

/** The live state of one rule for one limit key, kept by the partition that owns the rule. */
export interface FlowLimiter {
  readonly rule: string;
  readonly limitKey: string;
  /** Granted and not yet released. */
  running: FlowWaiter[];
  /** Waiting for a permit, best first (priority descending, then arrival). */
  waiting: FlowWaiter[];
  /** Tokens of the rate limit's bucket at `refilledAt` (fractional). */
  tokens: number;
  refilledAt: number;
  /** The latest invocation of a debounce window, and when the window closes. */
  debounced: FlowWaiter | undefined;
  debounceUntil: number;
  /** Last arrival number handed out. */
  seq: number;
}

/** What a target carries when a rule applies to it: the rule, and once applied, the key and priority. */
export interface FlowTag {
  readonly rule: string;
  readonly limitKey: string;
  readonly priority: number;
}
