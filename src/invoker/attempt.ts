import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  MessageType,
  REQUESTED_ACK_FLAG,
  encodeFrame,
  isCommand,
  isJournaledCommand,
  isKnownMessageType,
  messageTypeName,
  openInvocationStream,
  pb,
  type ByteBudget,
  type Frame,
  type InvocationStream,
} from '../protocol/index.ts';
import { StoreUnavailableError, type JournalEntry } from '../store/index.ts';
import { invocationIdToBytes, parseInvocationId } from '../types/index.ts';
import type { Command, InvocationResult, InvocationStatus, ResolvedTarget } from '../types/index.ts';
import type { InvokerDeps } from './deps.ts';
import type { RetryState } from './retry.ts';
import { AttemptTrace } from './trace.ts';

/** How an attempt ended. */
export type AttemptOutcome =
  /** `failed`: the handler's output was a terminal error. */
  | { readonly kind: 'ended'; readonly failed: boolean }
  | { readonly kind: 'suspended' }
  | { readonly kind: 'aborted' }
  | { readonly kind: 'not-runnable' }
  /** The store refused a command of this attempt: nothing after it was stored either; run again once it takes writes. */
  | { readonly kind: 'unstored'; readonly message: string }
  | {
      readonly kind: 'failed';
      readonly message: string;
      readonly code?: number;
      readonly nextRetryDelayMs?: number;
      /** V7: the SDK asked to pause or to fail instead of retrying. */
      readonly behavior?: 'pause' | 'fail';
      readonly stored: boolean;
      readonly service: string;
      readonly handler: string;
      /** The virtual object's or workflow's key, for keyed targets. */
      readonly key: string | undefined;
    };

/**
 * One attempt to run an invocation on its deployment: opens the stream, replays the journal,
 * turns what the SDK sends into log commands, and forwards notifications as they are applied.
 *
 * States: loading → streaming → closing → done. Notifications that arrive while loading are
 * buffered and sent after the replayed journal, skipping those the journal already holds.
 */
export class Attempt {
  #state: 'loading' | 'streaming' | 'closing' | 'done' = 'loading';
  #stream: InvocationStream | undefined;
  #buffered: { index: number; frame: Uint8Array }[] = [];
  #nextIndex = 0;
  #inputOpen = true;
  #stored = false;
  #aborted = false;
  /** Set when the partition refused one of this attempt's commands. */
  #refused: unknown;
  #lastSubmit: Promise<unknown> = Promise.resolve();
  #inactivityTimer: NodeJS.Timeout | undefined;
  #where: { service: string; handler: string; key: string | undefined } = { service: '', handler: '', key: undefined };
  #version = 0;
  /** Whether the output this attempt journaled is a failure (terminal error). */
  #outputFailed = false;
  /** V7: run proposals whose stored completion is answered with an ack, not the notification. */
  readonly #ackRequested = new Set<number>();
  #abortTimer: NodeJS.Timeout | undefined;
  /** Why the stream is to be torn down at once (a protocol violation, the memory limit). */
  #cutOff: string | undefined;
  /** This attempt's spans, when tracing is on. */
  #trace: AttemptTrace | undefined;

  constructor(
    readonly id: string,
    readonly partition: number,
    private readonly deps: InvokerDeps,
    private readonly retry: RetryState,
    /** The node's memory budget: partial frames and commands not yet durable hold bytes of it. */
    private readonly budget: ByteBudget,
  ) {}

  /** Forwards a notification the partition just journaled. */
  deliver(index: number, type: number, body: Uint8Array): void {
    this.#trace?.notification(type, body);
    if (this.#state === 'loading') {
      this.#buffered.push({ index, frame: encodeFrame(type, body) });
      return;
    }
    if (this.#state !== 'streaming' || !this.#inputOpen || index < this.#nextIndex) return;
    this.#nextIndex = index + 1;
    this.#stream?.write(this.#frameFor(type, body));
    this.#armInactivity();
  }

  /**
   * In V7 a run proposal sent with REQUESTED_ACK is answered with ProposeRunCompletionAck once
   * its completion is stored; the stored notification itself is what later replays see.
   */
  #frameFor(type: number, body: Uint8Array): Uint8Array {
    if (type === MessageType.RunCompletionNotification && this.#ackRequested.size > 0) {
      const completionId = fromBinary(pb.RunCompletionNotificationMessageSchema, body).completionId;
      if (this.#ackRequested.delete(completionId)) {
        return encodeFrame(
          MessageType.ProposeRunCompletionAck,
          toBinary(pb.ProposeRunCompletionAckMessageSchema, create(pb.ProposeRunCompletionAckMessageSchema, { completionId })),
        );
      }
    }
    return encodeFrame(type, body);
  }

  /** Stops the attempt now (the invocation completed elsewhere, was killed, or the node stops). */
  abort(): void {
    this.#aborted = true;
    this.#stream?.abort('aborted');
  }

  /**
   * Runs the attempt to its end. Never throws. The outcome is decided only once every command
   * the attempt submitted has been applied or refused: an attempt that ended, suspended or
   * failed with one of its commands refused did none of that as far as the partition knows.
   */
  async run(): Promise<AttemptOutcome> {
    let outcome: AttemptOutcome;
    try {
      outcome = await this.#run();
    } catch (err) {
      outcome = this.#aborted
        ? { kind: 'aborted' }
        : { kind: 'failed', message: err instanceof Error ? err.message : String(err), stored: this.#stored, ...this.#where };
    } finally {
      this.#state = 'done';
      this.#clearTimers();
    }
    await this.#lastSubmit.catch(() => undefined);
    outcome = this.#refusedOutcome(outcome);
    this.#trace?.end(outcome.kind, outcome.kind === 'failed' ? outcome.message : undefined);
    if (outcome.kind === 'ended') this.#trace?.endInvocation(outcome.failed ? { ok: false, message: 'the handler failed with a terminal error' } : { ok: true });
    return outcome;
  }

  /**
   * The outcome once a refused command is taken into account: a store that refuses writes says
   * nothing about the handler; a command the partition rejected is this attempt's failure,
   * retried (and given up on) by the retry policy.
   */
  #refusedOutcome(outcome: AttemptOutcome): AttemptOutcome {
    const refused = this.#refused;
    if (refused === undefined || outcome.kind === 'aborted') return outcome;
    const message = refused instanceof Error ? refused.message : String(refused);
    if (refused instanceof StoreUnavailableError) return { kind: 'unstored', message };
    return { kind: 'failed', message: `the partition rejected a command: ${message}`, stored: this.#stored, ...this.#where };
  }

  /** Emits the invocation's span when the invoker gives up on it after this attempt. */
  gaveUp(message: string): void {
    this.#trace?.endInvocation({ ok: false, message });
  }

  async #run(): Promise<AttemptOutcome> {
    const { store, registry, config } = this.deps;
    // A state above the eager limit is not sent, so it is not read either.
    const loaded = await store.loadInvocation(this.id, (st) => this.#wantsState(st), this.deps.config.eagerStateMaxBytes);
    if (loaded?.status.phase !== 'invoked') return { kind: 'not-runnable' };
    const { status, journal } = loaded;
    // An output journaled by an earlier attempt is replayed, not sent again: remember it here.
    for (let i = journal.length - 1; i >= 0; i--) {
      const e = journal[i]!;
      if (e.type !== MessageType.OutputCommand) continue;
      this.#outputFailed = fromBinary(pb.OutputCommandMessageSchema, e.body).result.case === 'failure';
      break;
    }
    this.#where = { service: status.target.service, handler: status.target.handler, key: status.target.key };
    const deployment = registry.getDeployment(status.target.deploymentId) ?? this.deps.latestDeployment(status.target.service);
    if (!deployment) throw new Error(`no deployment serves ${status.target.service}`);
    const version = this.deps.negotiate(deployment.minProtocolVersion, deployment.maxProtocolVersion);
    this.#version = version;
    const state = this.#eagerState(status, loaded.state);
    if (this.#aborted) return { kind: 'aborted' };
    if (this.deps.tracing) {
      this.#trace = AttemptTrace.start(this.deps.tracing, status, journal[0]?.body, this.retry.attempts + 1, deployment.id);
    }

    const requestResponse = deployment.protocolMode === 'REQUEST_RESPONSE';
    const stream = (this.deps.openStream ?? openInvocationStream)({
      url: deployment.url,
      service: status.target.service,
      handler: status.target.handler,
      protocolVersion: version,
      mode: requestResponse ? 'request-response' : 'bidi',
      useHttp11: deployment.useHttp11,
      headers: this.#trace ? { ...deployment.additionalHeaders, ...this.#trace.headers() } : deployment.additionalHeaders,
      identity: this.deps.identity,
      budget: this.budget,
    });
    this.#stream = stream;
    stream.write(this.#startFrame(status, journal.length, state, version));
    for (const e of journal) stream.write(encodeFrame(e.type, e.body));
    this.#nextIndex = journal.length;
    this.#state = 'streaming';
    for (const b of this.#buffered) {
      if (b.index < this.#nextIndex) continue;
      this.#nextIndex = b.index + 1;
      stream.write(b.frame);
    }
    this.#buffered = [];
    if (requestResponse || config.inactivityTimeoutMs === 0) this.#endInput();
    else this.#armInactivity();

    let commandIndex = journal.filter((e) => isCommand(e.type)).length;
    let outcome: AttemptOutcome | undefined;
    for await (const frame of stream.frames()) {
      if (outcome) continue; // nothing after a terminal message counts
      // Only progress keeps the input open: a service that sends nothing else (AwaitingOn over
      // and over, a frame that never completes) is asked to suspend after the inactivity
      // timeout and cut off after the abort timeout.
      if (this.#inputOpen && (isJournaledCommand(frame.type) || frame.type === MessageType.ProposeRunCompletion)) this.#armInactivity();
      if (isJournaledCommand(frame.type)) {
        if (this.#hold(frame)) {
          if (frame.type === MessageType.OutputCommand) {
            this.#outputFailed = fromBinary(pb.OutputCommandMessageSchema, frame.body).result.case === 'failure';
          }
          const traceparent = this.#trace?.command(frame.type, frame.body);
          this.#submit(
            {
              kind: 'journal-command',
              id: this.id,
              commandIndex: commandIndex++,
              type: frame.type,
              body: frame.body,
              now: Date.now(),
              ...this.#callee(frame),
              ...(traceparent !== undefined ? { traceparent } : {}),
            },
            frame.body.length,
          );
          continue;
        }
        outcome = this.#overLimit(frame);
      } else outcome = this.#control(frame);
      // The SDK waits for our side to close before it closes its own.
      if (outcome) this.#endInput();
      // A peer that broke the protocol, or would take more memory than the node has left, is
      // not waited for: its stream goes now.
      if (this.#cutOff) {
        stream.abort(this.#cutOff);
        break;
      }
    }
    if (this.#aborted) return { kind: 'aborted' };
    return outcome ?? { kind: 'failed', message: 'the stream closed without End, Suspension or Error', stored: this.#stored, ...this.#where };
  }

  /** Handles a control message; returns the outcome when it ends the attempt. */
  #control(frame: Frame): AttemptOutcome | undefined {
    switch (frame.type) {
      case MessageType.ProposeRunCompletion: {
        const m = fromBinary(pb.ProposeRunCompletionMessageSchema, frame.body);
        if (this.#version >= 7 && (frame.flags & REQUESTED_ACK_FLAG) !== 0) this.#ackRequested.add(m.resultCompletionId);
        const result: InvocationResult =
          m.result.case === 'failure'
            ? { ok: false, code: m.result.value.code, message: m.result.value.message, metadata: m.result.value.metadata.map((x) => [x.key, x.value] as const) }
            : { ok: true, value: m.result.case === 'value' ? m.result.value : new Uint8Array() };
        if (!this.#hold(frame)) return this.#overLimit(frame);
        this.#trace?.runCompleted(m.resultCompletionId, result.ok ? undefined : result.message);
        this.#submit({ kind: 'run-completion', id: this.id, completionId: m.resultCompletionId, result }, frame.body.length);
        return undefined;
      }
      case MessageType.Suspension: {
        const m = fromBinary(pb.SuspensionMessageSchema, frame.body);
        const completions = [...m.waitingCompletions];
        const signals = [...m.waitingSignals];
        const named = [...m.waitingNamedSignals];
        if (m.awaitingOn) collectFuture(m.awaitingOn, completions, signals, named);
        this.#submit({ kind: 'suspend', id: this.id, completions, signals, namedSignals: named });
        return { kind: 'suspended' };
      }
      case MessageType.Error: {
        const m = fromBinary(pb.ErrorMessageSchema, frame.body);
        const where = m.relatedCommandName ? ` (command '${m.relatedCommandName}')` : '';
        return {
          kind: 'failed',
          message: `[${m.code}] ${m.message}${where}`,
          code: m.code,
          nextRetryDelayMs: m.nextRetryDelay !== undefined ? Number(m.nextRetryDelay) : undefined,
          ...(m.behavior === 1 ? { behavior: 'pause' as const } : m.behavior === 2 ? { behavior: 'fail' as const } : {}),
          stored: this.#stored,
          ...this.#where,
        };
      }
      case MessageType.End:
        this.#submit({ kind: 'end', id: this.id, now: Date.now() });
        return { kind: 'ended', failed: this.#outputFailed };
      case MessageType.AwaitingOn:
        return undefined;
      default: {
        // Unknown types included: nothing is journaled for them, and the attempt is retried.
        const what = isKnownMessageType(frame.type) ? 'unexpected' : 'unknown';
        this.#cutOff = 'protocol violation';
        return { kind: 'failed', message: `protocol violation: ${what} message type ${messageTypeName(frame.type)}`, stored: this.#stored, ...this.#where };
      }
    }
  }

  /** For calls and sends, resolves the callee so apply does not consult the schema. */
  #callee(frame: Frame): { callee?: ResolvedTarget } {
    if (frame.type !== MessageType.CallCommand && frame.type !== MessageType.OneWayCallCommand) return {};
    const m =
      frame.type === MessageType.CallCommand
        ? fromBinary(pb.CallCommandMessageSchema, frame.body)
        : fromBinary(pb.OneWayCallCommandMessageSchema, frame.body);
    const callee = this.deps.resolveTarget(m.serviceName, m.handlerName, m.key === '' ? undefined : m.key);
    return callee ? { callee } : {};
  }

  /** Reserves a message's bytes from the node's budget until its command is durable. */
  #hold(frame: Frame): boolean {
    return this.budget.tryReserve(frame.body.length);
  }

  /** The attempt ends: the message does not fit in what is left of the node's memory budget. */
  #overLimit(frame: Frame): AttemptOutcome {
    this.#cutOff = 'memory limit';
    return {
      kind: 'failed',
      message:
        `the invocation memory limit of ${this.budget.limit} bytes is used up (${this.budget.used} held by invocation streams): ` +
        `a ${messageTypeName(frame.type)} of ${frame.body.length} bytes cannot wait for its log append`,
      stored: this.#stored,
      ...this.#where,
    };
  }

  /**
   * Appends a command to the partition's log. Appends from one attempt keep their order; once
   * one is refused the attempt stops (the partition refuses the ones queued behind it too, so
   * the journal keeps no gap) and is run again when the store takes writes. `heldBytes`,
   * reserved by the caller, go back to the budget once the append settled.
   */
  #submit(command: Command, heldBytes = 0): void {
    if (this.#refused !== undefined) {
      this.budget.release(heldBytes);
      return;
    }
    this.#stored = true;
    this.retry.retryCountSinceStored = 0;
    this.retry.lastStoredAt = Date.now();
    this.#lastSubmit = this.deps
      .submit(this.partition, command)
      .catch((err: unknown) => {
        if (this.#refused !== undefined) return;
        this.#refused = err;
        this.deps.logger.warn({ err, invocationId: this.id }, 'the partition refused a command of this attempt; it runs again later');
        this.#stream?.abort('the partition refused a command');
      })
      .finally(() => this.budget.release(heldBytes));
  }

  #startFrame(status: InvocationStatus, knownEntries: number, state: { entries: [Uint8Array, Uint8Array][]; partial: boolean }, version: number): Uint8Array {
    const raw = invocationIdToBytes(parseInvocationId(this.id));
    const seedView = new DataView(raw.buffer, raw.byteOffset + 8, 8);
    const msg = create(pb.StartMessageSchema, {
      id: raw,
      debugId: this.id,
      knownEntries,
      stateMap: state.entries.map(([key, value]) => ({ key, value })),
      partialState: state.partial,
      key: status.target.key ?? '',
      retryCountSinceLastStoredEntry: this.retry.retryCountSinceStored,
      durationSinceLastStoredEntry: BigInt(Math.max(0, Date.now() - this.retry.lastStoredAt)),
      randomSeed: version >= 6 ? seedView.getBigUint64(0) : 0n,
    });
    return encodeFrame(MessageType.Start, toBinary(pb.StartMessageSchema, msg));
  }

  /** Keyed invocations get their state in StartMessage, unless lazy state is asked for. */
  #wantsState(status: InvocationStatus): boolean {
    const t = status.target;
    return t.serviceType !== 'SERVICE' && t.key !== undefined && !this.deps.lazyState(t.service);
  }

  /** The state to send eagerly; when it is too big the SDK fetches what it needs lazily. */
  #eagerState(status: InvocationStatus, entries: [Uint8Array, Uint8Array][] | undefined): { entries: [Uint8Array, Uint8Array][]; partial: boolean } {
    const t = status.target;
    if (t.serviceType === 'SERVICE' || t.key === undefined) return { entries: [], partial: false };
    if (!entries) return { entries: [], partial: true };
    let size = 0;
    for (const [k, v] of entries) size += k.length + v.length;
    if (size > this.deps.config.eagerStateMaxBytes) return { entries: [], partial: true };
    return { entries, partial: false };
  }

  #endInput(): void {
    if (!this.#inputOpen) return;
    this.#inputOpen = false;
    this.#stream?.endInput();
    if (this.#inactivityTimer) clearTimeout(this.#inactivityTimer);
    // The SDK now has to suspend or finish; if it does neither, give up on this attempt.
    this.#abortTimer = setTimeout(() => this.#stream?.abort('abort timeout'), this.deps.config.abortTimeoutMs);
    this.#abortTimer.unref();
  }

  /** After a quiet period the SDK is asked to suspend: we close our side of the stream. */
  #armInactivity(): void {
    // Re-armed on every command: restarting the one timer is cheaper than a new one each time.
    if (this.#inactivityTimer) {
      this.#inactivityTimer.refresh();
      return;
    }
    this.#inactivityTimer = setTimeout(() => this.#endInput(), this.deps.config.inactivityTimeoutMs);
    this.#inactivityTimer.unref();
  }

  #clearTimers(): void {
    if (this.#inactivityTimer) clearTimeout(this.#inactivityTimer);
    if (this.#abortTimer) clearTimeout(this.#abortTimer);
  }
}

function collectFuture(f: pb.Future, completions: number[], signals: number[], named: string[]): void {
  completions.push(...f.waitingCompletions);
  signals.push(...f.waitingSignals);
  named.push(...f.waitingNamedSignals);
  for (const n of f.nestedFutures) collectFuture(n, completions, signals, named);
}

export type { JournalEntry };
