import { fromBinary } from '@bufbuild/protobuf';
import {
  SpanKind,
  SpanStatusCode,
  formatTraceparent,
  invocationTraceContext,
  spanContextOf,
  type Span,
  type TraceContext,
  type Tracing,
} from '../common/tracing.ts';
import { MessageType, pb } from '../protocol/index.ts';
import type { InvocationStatus } from '../types/index.ts';

/** How an invocation ended, for its span. */
export type InvocationEnd = { readonly ok: true } | { readonly ok: false; readonly message: string };

/**
 * The spans of one attempt: the attempt itself under its invocation's span, and under it a span
 * per step (from the run command to its proposed completion), per sleep (until its wake-up
 * time) and per call or send. A call's span is the parent of the callee's invocation: its
 * `traceparent` travels in the journal command to apply, which writes it into the callee's
 * input headers. The invocation's own span is emitted when the invocation ends, with the id
 * its attempts already name as their parent.
 *
 * Spans still open when the attempt ends (a call whose answer comes after a suspension) end
 * with it and say so.
 */
export class AttemptTrace {
  readonly #invocation: { self: TraceContext; parent: TraceContext | undefined };
  readonly #attempt: Span;
  readonly #runs = new Map<number, Span>();
  readonly #calls = new Map<number, Span>();

  private constructor(
    private readonly tracing: Tracing,
    private readonly status: InvocationStatus,
    invocation: { self: TraceContext; parent: TraceContext | undefined },
    attempt: Span,
  ) {
    this.#invocation = invocation;
    this.#attempt = attempt;
  }

  /**
   * Starts the trace of an attempt, or undefined when tracing is off. `input` is the body of
   * the invocation's Input command, whose headers carry its parent's trace context.
   */
  static start(tracing: Tracing, status: InvocationStatus, input: Uint8Array | undefined, attempt: number, deploymentId: string): AttemptTrace | undefined {
    if (!tracing.enabled) return undefined;
    let traceparent: string | undefined;
    if (input !== undefined) {
      for (const h of fromBinary(pb.InputCommandMessageSchema, input).headers) {
        if (h.key.toLowerCase() === 'traceparent') traceparent = h.value;
      }
    }
    const invocation = invocationTraceContext(status.id, traceparent);
    const span = tracing.startSpan(`attempt ${spanName(status)}`, invocation.self, {
      kind: SpanKind.CLIENT,
      attributes: { ...invocationAttributes(status), 'endure.attempt': attempt, 'restate.deployment.id': deploymentId },
    });
    return span ? new AttemptTrace(tracing, status, invocation, span) : undefined;
  }

  /** Headers for the request to the deployment: the attempt's own trace context. */
  headers(): Record<string, string> {
    return { traceparent: formatTraceparent(spanContextOf(this.#attempt)) };
  }

  /**
   * Opens the span of a command the SDK sent. For calls and sends, returns the traceparent the
   * callee's invocation must hang under.
   */
  command(type: number, body: Uint8Array): string | undefined {
    const parent = spanContextOf(this.#attempt);
    switch (type) {
      case MessageType.RunCommand: {
        const m = fromBinary(pb.RunCommandMessageSchema, body);
        const span = this.tracing.startSpan(m.name === '' ? 'run' : `run ${m.name}`, parent);
        if (span) this.#runs.set(m.resultCompletionId, span);
        return undefined;
      }
      case MessageType.SleepCommand: {
        const m = fromBinary(pb.SleepCommandMessageSchema, body);
        const wakeUp = Number(m.wakeUpTime);
        const span = this.tracing.startSpan(m.name === '' ? 'sleep' : `sleep ${m.name}`, parent, {
          attributes: { 'endure.sleep.wake_up_time': new Date(wakeUp).toISOString() },
        });
        span?.end(Math.max(wakeUp, Date.now()));
        return undefined;
      }
      case MessageType.CallCommand: {
        const m = fromBinary(pb.CallCommandMessageSchema, body);
        const span = this.tracing.startSpan(`call ${m.serviceName}/${m.handlerName}`, parent, {
          kind: SpanKind.CLIENT,
          attributes: callAttributes(m.serviceName, m.handlerName, m.key),
        });
        if (!span) return undefined;
        this.#calls.set(m.resultCompletionId, span);
        return formatTraceparent(spanContextOf(span));
      }
      case MessageType.OneWayCallCommand: {
        const m = fromBinary(pb.OneWayCallCommandMessageSchema, body);
        const span = this.tracing.startSpan(`send ${m.serviceName}/${m.handlerName}`, parent, {
          kind: SpanKind.PRODUCER,
          attributes: callAttributes(m.serviceName, m.handlerName, m.key),
        });
        if (!span) return undefined;
        span.end();
        return formatTraceparent(spanContextOf(span));
      }
      default:
        return undefined;
    }
  }

  /** Ends a step's span once the SDK proposes its result. */
  runCompleted(completionId: number, failure: string | undefined): void {
    const span = this.#runs.get(completionId);
    if (!span) return;
    this.#runs.delete(completionId);
    if (failure !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: failure });
    span.end();
  }

  /** Ends a call's span when its answer reaches this attempt. */
  notification(type: number, body: Uint8Array): void {
    if (type !== MessageType.CallCompletionNotification || this.#calls.size === 0) return;
    const m = fromBinary(pb.CallCompletionNotificationMessageSchema, body);
    const span = this.#calls.get(m.completionId);
    if (!span) return;
    this.#calls.delete(m.completionId);
    if (m.result.case === 'failure') span.setStatus({ code: SpanStatusCode.ERROR, message: m.result.value.message });
    span.end();
  }

  /** Ends the attempt's span (and what is still open under it) with how the attempt ended. */
  end(outcome: string, error: string | undefined): void {
    for (const span of [...this.#runs.values(), ...this.#calls.values()]) {
      span.setAttribute('endure.ended_with_attempt', true);
      span.end();
    }
    this.#runs.clear();
    this.#calls.clear();
    this.#attempt.setAttribute('endure.attempt.outcome', outcome);
    if (error !== undefined) this.#attempt.setStatus({ code: SpanStatusCode.ERROR, message: error });
    this.#attempt.end();
  }

  /** Emits the invocation's span, from its creation until now. */
  endInvocation(end: InvocationEnd): void {
    const span = this.tracing.startSpanWithIds(`invoke ${spanName(this.status)}`, this.#invocation.self, this.#invocation.parent, {
      kind: SpanKind.SERVER,
      startTime: this.status.createdAt,
      attributes: invocationAttributes(this.status),
    });
    if (!span) return;
    if (!end.ok) span.setStatus({ code: SpanStatusCode.ERROR, message: end.message });
    span.end();
  }
}

/** Span names stay low in cardinality: no keys in them, only in attributes. */
function spanName(status: InvocationStatus): string {
  return `${status.target.service}/${status.target.handler}`;
}

function target(status: InvocationStatus): string {
  const t = status.target;
  return t.key === undefined ? `${t.service}/${t.handler}` : `${t.service}/${t.key}/${t.handler}`;
}

function invocationAttributes(status: InvocationStatus): Record<string, string> {
  const t = status.target;
  return {
    'restate.invocation.id': status.id,
    'restate.invocation.target': target(status),
    'rpc.service': t.service,
    'rpc.method': t.handler,
  };
}

function callAttributes(service: string, handler: string, key: string): Record<string, string> {
  return { 'rpc.service': service, 'rpc.method': handler, ...(key === '' ? {} : { 'restate.invocation.key': key }) };
}
