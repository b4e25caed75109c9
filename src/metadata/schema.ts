import type { HandlerType, ProtocolMode, ServiceType } from './manifest.ts';

/** Retry-policy overrides declared by a service or handler; unset fields fall back. */
export interface RetryPolicyOverrides {
  initialIntervalMs?: number;
  maxIntervalMs?: number;
  /** Attempts including the first one. */
  maxAttempts?: number;
  exponentiationFactor?: number;
  onMaxAttempts?: 'pause' | 'kill';
}

/** Timeouts, retention and retry options a service declares (all optional overrides). */
export interface ServiceOptions {
  inactivityTimeoutMs?: number;
  abortTimeoutMs?: number;
  journalRetentionMs?: number;
  idempotencyRetentionMs?: number;
  enableLazyState?: boolean;
  /** Set on workflow services by an operator; a workflow handler's own value wins. */
  workflowCompletionRetentionMs?: number;
  retryPolicy: RetryPolicyOverrides;
}

/** Handler options: the service options plus the workflow completion retention. */
export type HandlerOptions = ServiceOptions;

/** A handler of the active revision of a service. */
export interface HandlerSchema {
  readonly name: string;
  /** EXCLUSIVE/SHARED for virtual objects, WORKFLOW/SHARED for workflows, undefined for services. */
  readonly ty: HandlerType | undefined;
  /** Callable through the ingress. */
  readonly public: boolean;
  /** Visibility the handler declared itself; undefined: follows the service. */
  readonly ingressPrivate?: boolean;
  readonly documentation?: string;
  readonly metadata: Readonly<Record<string, string>>;
  /** An empty body without content-type is accepted. */
  readonly acceptsEmptyInput: boolean;
  /** Accepted content type for a non-empty body (`*\/*`, `type/*` or `type/subtype`); undefined: none. */
  readonly inputContentType?: string;
  /** A non-empty body must be a JSON value (the handler declared a JSON schema). */
  readonly inputJsonSchema?: unknown;
  /** Content type to set on the response; undefined: none. */
  readonly outputContentType?: string;
  /** Set the output content type even when the output is empty. */
  readonly setContentTypeIfEmpty: boolean;
  readonly outputJsonSchema?: unknown;
  readonly options: Readonly<HandlerOptions>;
}

/** The active (latest) revision of a service. */
export interface ServiceSchema {
  readonly name: string;
  readonly ty: ServiceType;
  readonly revision: number;
  /** Deployment serving this revision. */
  readonly deploymentId: string;
  readonly handlers: ReadonlyMap<string, HandlerSchema>;
  /** Callable through the ingress. */
  readonly public: boolean;
  readonly documentation?: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly options: Readonly<ServiceOptions>;
}

/** A registered deployment (an SDK endpoint reachable over HTTP). */
export interface DeploymentSchema {
  /** Restate-shaped (`dp_1` and a ULID in 22 base62 characters), or `dp_` and 26 base62 characters if registered before. */
  readonly id: string;
  readonly url: string;
  readonly protocolMode: ProtocolMode;
  readonly minProtocolVersion: number;
  readonly maxProtocolVersion: number;
  readonly useHttp11: boolean;
  readonly additionalHeaders: Readonly<Record<string, string>>;
  readonly sdkVersion?: string;
  readonly metadata: Readonly<Record<string, string>>;
  /** Names of the services this deployment exposes. */
  readonly services: readonly string[];
  /** Registration time, ms since the epoch. */
  readonly createdAt: number;
}
