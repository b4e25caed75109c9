import type { RetryConfig } from '../config/index.ts';
import type { DeploymentInfo, RetryPolicy } from '../invoker/index.ts';
import type { TargetLookup } from '../ingress-http/index.ts';
import type { SchemaRegistry } from '../metadata/index.ts';
import type { ResolvedTarget } from '../worker/index.ts';

/** Completed invocations are kept this long by default (Restate's idempotency retention). */
export const DEFAULT_RETENTION_MS = 24 * 60 * 60 * 1000;

/**
 * Schema lookups shared by the ingress (requests from clients) and the invoker (calls from
 * handlers): both resolve a target once, outside apply, and put the facts into the command.
 */
export class Targets implements TargetLookup {
  constructor(
    private readonly registry: SchemaRegistry,
    /** The flow rule limiting a handler, if any (flow/index.ts). */
    private readonly flowRule: (service: string, handler: string) => string | undefined = () => undefined,
  ) {}

  lookup(service: string): { ty: ResolvedTarget['serviceType'] } | undefined {
    const s = this.registry.getService(service);
    return s ? { ty: s.ty } : undefined;
  }

  resolve(service: string, handler: string, key: string | undefined): ResolvedTarget | 'no-handler' | undefined {
    const s = this.registry.getService(service);
    if (!s) return undefined;
    const h = s.handlers.get(handler);
    if (!h) return 'no-handler';
    const workflowRun = s.ty === 'WORKFLOW' && h.ty === 'WORKFLOW';
    const retentionMs = workflowRun
      ? (h.options.workflowCompletionRetentionMs ?? DEFAULT_RETENTION_MS)
      : (h.options.idempotencyRetentionMs ?? s.options.idempotencyRetentionMs ?? DEFAULT_RETENTION_MS);
    const rule = this.flowRule(service, handler);
    return {
      service,
      handler,
      key: s.ty === 'SERVICE' ? undefined : (key ?? ''),
      serviceType: s.ty,
      handlerType: h.ty ?? (s.ty === 'VIRTUAL_OBJECT' ? 'EXCLUSIVE' : undefined),
      deploymentId: s.deploymentId,
      retentionMs,
      // The limit key and priority are the invocation's: apply reads them from its input.
      ...(rule !== undefined ? { flow: { rule, limitKey: '', priority: 0 } } : {}),
    };
  }

  /** For the invoker: unknown targets and handlers are both 'not found'. */
  resolveCallee(service: string, handler: string, key: string | undefined): ResolvedTarget | undefined {
    const r = this.resolve(service, handler, key);
    return typeof r === 'object' ? r : undefined;
  }

  /** The retry policy of a handler: handler overrides, then service overrides, then the server's defaults. */
  retryPolicy(service: string, handler: string, defaults: RetryConfig): RetryPolicy {
    const s = this.registry.getService(service);
    const h = s?.handlers.get(handler);
    const o = { ...(s?.options.retryPolicy ?? {}), ...stripUndefined(h?.options.retryPolicy ?? {}) };
    return {
      initialIntervalMs: o.initialIntervalMs ?? defaults.initialIntervalMs,
      factor: o.exponentiationFactor ?? defaults.factor,
      maxIntervalMs: o.maxIntervalMs ?? defaults.maxIntervalMs,
      maxAttempts: o.maxAttempts ?? defaults.maxAttempts,
      onMaxAttempts: o.onMaxAttempts ?? defaults.onMaxAttempts,
    };
  }

  handlerInfo(service: string, handler: string) {
    const h = this.registry.getHandler(service, handler);
    if (!h) return undefined;
    return {
      inputContentType: h.inputContentType,
      acceptsEmptyInput: h.acceptsEmptyInput,
      outputContentType: h.outputContentType,
      public: h.public && (this.registry.getService(service)?.public ?? true),
    };
  }

  lazyState(service: string): boolean {
    return this.registry.getService(service)?.options.enableLazyState === true;
  }

  deployment(id: string): DeploymentInfo | undefined {
    const d = this.registry.getDeployment(id);
    return d ? { ...d, additionalHeaders: { ...d.additionalHeaders } } : undefined;
  }

  latestDeployment(service: string): DeploymentInfo | undefined {
    const s = this.registry.getService(service);
    return s ? this.deployment(s.deploymentId) : undefined;
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
