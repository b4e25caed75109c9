/**
 * OpenTelemetry traces of invocations, exported with OTLP/HTTP when a tracing endpoint is set.
 *
 * One trace per call tree: an invocation's span, its attempts under it, and under each attempt
 * the spans of its steps, sleeps and calls; a call's span is the parent of the callee's
 * invocation span. The trace context of an invocation is durable without a record of its own:
 * the `traceparent` in its input headers (from the ingress request, or written by apply from
 * the caller's call command) names its parent, and the invocation's own span id is derived from
 * its id, so every attempt on any node and after any restart hangs under the same span.
 *
 * Spans are emitted by the leader's invoker only, never inside apply (rule 2): apply merely
 * copies a traceparent chosen by the invoker into the callee's input headers.
 */
import { createHash } from 'node:crypto';
import {
  DiagLogLevel,
  ROOT_CONTEXT,
  SpanKind,
  diag,
  SpanStatusCode,
  TraceFlags,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  RandomIdGenerator,
  type IdGenerator,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { Logger } from './logger.ts';

/** A W3C trace context: which trace, which span, whether it is sampled. */
export interface TraceContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly sampled: boolean;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** Parses a W3C `traceparent` header; undefined when it is absent or malformed. */
export function parseTraceparent(value: string | undefined): TraceContext | undefined {
  if (value === undefined) return undefined;
  const m = TRACEPARENT.exec(value.trim().toLowerCase());
  if (!m) return undefined;
  const [, version, traceId, spanId, flags, rest] = m as unknown as [string, string, string, string, string, string | undefined];
  // Version ff is invalid; version 00 has nothing after the flags.
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

/** Writes a W3C `traceparent` header (version 00). */
export function formatTraceparent(ctx: TraceContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.sampled ? '01' : '00'}`;
}

function derivedHex(what: string, id: string, hexChars: number): string {
  return createHash('sha256').update(what).update('\0').update(id).digest('hex').slice(0, hexChars);
}

/**
 * The context of an invocation's own span, and of the span it hangs under. The span id is
 * derived from the invocation id; the trace is the parent's, or, for an invocation nobody
 * traced before, one derived from the invocation id.
 */
export function invocationTraceContext(invocationId: string, traceparent: string | undefined): { self: TraceContext; parent: TraceContext | undefined } {
  const parent = parseTraceparent(traceparent);
  const self: TraceContext = {
    traceId: parent?.traceId ?? derivedHex('trace', invocationId, 32),
    spanId: derivedHex('span', invocationId, 16),
    sampled: parent?.sampled ?? true,
  };
  return { self, parent };
}

/**
 * Random ids, except for the next span when the caller chose its ids: an invocation's span has
 * a derived id so that its attempts, started earlier or elsewhere, are already its children.
 * Spans start synchronously, so the choice is consumed by the span it was made for.
 */
class ChosenIds implements IdGenerator {
  readonly #random = new RandomIdGenerator();
  next: TraceContext | undefined;

  generateTraceId(): string {
    const chosen = this.next?.traceId;
    return chosen ?? this.#random.generateTraceId();
  }

  generateSpanId(): string {
    const chosen = this.next?.spanId;
    return chosen ?? this.#random.generateSpanId();
  }
}

/** Options of a span started by {@link Tracing.startSpan}. */
export interface SpanOptions {
  readonly kind?: SpanKind;
  readonly attributes?: Attributes;
  /** Epoch ms; now when absent. */
  readonly startTime?: number;
}

/**
 * The tracer of a node. Disabled (every call a cheap no-op returning undefined) unless a
 * tracing endpoint is configured.
 */
export class Tracing {
  /** A tracing that records nothing. */
  static readonly disabled = new Tracing(undefined, undefined, undefined);

  private constructor(
    private readonly provider: BasicTracerProvider | undefined,
    private readonly tracer: Tracer | undefined,
    private readonly ids: ChosenIds | undefined,
  ) {}

  /**
   * Exports spans in batches to `endpoint` (an OTLP/HTTP collector: a base URL such as
   * `http://127.0.0.1:4318`, to which `/v1/traces` is added, or the full traces URL).
   */
  static start(endpoint: string, version: string, logger: Logger): Tracing {
    const url = new URL(endpoint);
    if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1/traces';
    // The exporter reports failures (an unreachable collector, say) through OpenTelemetry's
    // diagnostic logger: route its warnings and errors to ours, never its chatter.
    diag.setLogger(
      {
        error: (message, ...args) => logger.warn({ component: 'opentelemetry', detail: args.map(String) }, message),
        warn: (message, ...args) => logger.warn({ component: 'opentelemetry', detail: args.map(String) }, message),
        info: () => undefined,
        debug: () => undefined,
        verbose: () => undefined,
      },
      { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
    );
    const ids = new ChosenIds();
    const exporter = new OTLPTraceExporter({ url: url.toString() });
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'endure', [ATTR_SERVICE_VERSION]: version }),
      sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
      idGenerator: ids,
      spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1000 })],
    });
    logger.info({ endpoint: url.toString() }, 'exporting traces with OTLP/HTTP');
    return new Tracing(provider, provider.getTracer('endure'), ids);
  }

  /** Whether spans are recorded at all. */
  get enabled(): boolean {
    return this.tracer !== undefined;
  }

  /** Starts a span under `parent` (a root span when undefined). */
  startSpan(name: string, parent: TraceContext | undefined, opts: SpanOptions = {}): Span | undefined {
    if (!this.tracer) return undefined;
    return this.tracer.startSpan(name, { kind: opts.kind ?? SpanKind.INTERNAL, attributes: opts.attributes, startTime: opts.startTime }, contextOf(parent));
  }

  /** Starts a span whose own ids are chosen by the caller (an invocation's derived span). */
  startSpanWithIds(name: string, self: TraceContext, parent: TraceContext | undefined, opts: SpanOptions = {}): Span | undefined {
    if (!this.tracer || !this.ids) return undefined;
    this.ids.next = self;
    try {
      return this.startSpan(name, parent, opts);
    } finally {
      this.ids.next = undefined;
    }
  }

  /**
   * Exports what is buffered and stops; gives up after `timeoutMs` so that an unreachable
   * collector cannot hold up the node's shutdown.
   */
  async close(timeoutMs = 2000): Promise<void> {
    if (!this.provider) return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      timer.unref();
    });
    await Promise.race([this.provider.shutdown(), late]).finally(() => clearTimeout(timer));
  }
}

function contextOf(parent: TraceContext | undefined): Context {
  if (!parent) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: parent.traceId,
    spanId: parent.spanId,
    traceFlags: parent.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
    isRemote: true,
  });
}

/** The trace context of a started span, for children and for `traceparent` headers. */
export function spanContextOf(span: Span): TraceContext {
  const c = span.spanContext();
  return { traceId: c.traceId, spanId: c.spanId, sampled: (c.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED };
}

export { SpanKind, SpanStatusCode, type Span };
