// The endpoint manifest as returned by an SDK's `GET /discover` (service-protocol
// endpoint_manifest_schema.json). Declared structurally so the registry does not depend on how
// discovery is carried out; durations are in milliseconds, as in the manifest.

/** Service types of the manifest. */
export const SERVICE_TYPES = ['SERVICE', 'VIRTUAL_OBJECT', 'WORKFLOW'] as const;
/** A service type. */
export type ServiceType = (typeof SERVICE_TYPES)[number];

/** Handler types of the manifest. */
export const HANDLER_TYPES = ['EXCLUSIVE', 'SHARED', 'WORKFLOW'] as const;
/** A handler type. */
export type HandlerType = (typeof HANDLER_TYPES)[number];

/** Protocol modes of the manifest. */
export type ProtocolMode = 'BIDI_STREAM' | 'REQUEST_RESPONSE';

/** Retry-policy and timeout options a service or handler may declare. */
export interface ManifestOptions {
  documentation?: string;
  metadata?: Record<string, string>;
  inactivityTimeout?: number;
  abortTimeout?: number;
  journalRetention?: number;
  idempotencyRetention?: number;
  enableLazyState?: boolean;
  ingressPrivate?: boolean;
  retryPolicyInitialInterval?: number;
  retryPolicyMaxInterval?: number;
  retryPolicyMaxAttempts?: number;
  retryPolicyExponentiationFactor?: number;
  retryPolicyOnMaxAttempts?: 'PAUSE' | 'KILL';
}

/** One handler of a discovered service. */
export interface HandlerManifest extends ManifestOptions {
  name: string;
  ty?: HandlerType;
  input?: { required?: boolean; contentType?: string; jsonSchema?: unknown };
  output?: { setContentTypeIfEmpty?: boolean; contentType?: string; jsonSchema?: unknown };
  workflowCompletionRetention?: number;
}

/** One discovered service. */
export interface ServiceManifest extends ManifestOptions {
  name: string;
  ty: ServiceType;
  handlers: HandlerManifest[];
}

/** What an endpoint returned from discovery. */
export interface EndpointManifest {
  protocolMode: ProtocolMode;
  minProtocolVersion: number;
  maxProtocolVersion: number;
  services: ServiceManifest[];
  /** SDK name and version, when the endpoint told it (e.g. the `x-restate-server` header). */
  sdkVersion?: string;
}

/** Options for discovering an endpoint. */
export interface DiscoverOptions {
  useHttp11?: boolean;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** Discovers an endpoint's manifest (implemented in src/protocol). */
export type DiscoverFn = (url: string, opts?: DiscoverOptions) => Promise<EndpointManifest>;
