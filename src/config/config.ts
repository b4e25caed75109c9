/** Log levels accepted by `--log-level` / `ENDURE_LOG_LEVEL`. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
/** A log level name. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Log formats accepted by `--log-format` / `ENDURE_LOG_FORMAT`: JSON lines, or pretty lines for a terminal. */
export const LOG_FORMATS = ['json', 'pretty'] as const;
/** A log format name. */
export type LogFormat = (typeof LOG_FORMATS)[number];

/** What to do with an invocation once its retry attempts are exhausted. */
export const ON_MAX_ATTEMPTS = ['pause', 'kill'] as const;
/** Behaviour on max attempts. */
export type OnMaxAttempts = (typeof ON_MAX_ATTEMPTS)[number];

/** A `host:port` listen address. */
export interface BindAddress {
  host: string;
  port: number;
}

/** Default retry policy for invocations (handlers and services may override it). */
export interface RetryConfig {
  initialIntervalMs: number;
  factor: number;
  maxIntervalMs: number;
  /** Attempts including the first one; `null` retries forever. */
  maxAttempts: number | null;
  onMaxAttempts: OnMaxAttempts;
}

/** The compiled, validated configuration of an Endure node. Internals never see raw options. */
export interface Config {
  dataDir: string;
  ingress: BindAddress;
  admin: BindAddress;
  partitions: number;
  logLevel: LogLevel;
  logFormat: LogFormat;
  inactivityTimeoutMs: number;
  abortTimeoutMs: number;
  ingressMaxBodyBytes: number;
  eagerStateMaxBytes: number;
  retry: RetryConfig;
  /** PEM file with the Ed25519 key that signs requests to services; unsigned when absent. */
  requestIdentityPrivateKeyPemFile: string | undefined;
  /** OTLP/HTTP collector that receives traces of invocations; no tracing when absent. */
  tracingEndpoint: string | undefined;
}

/**
 * Defaults. Timeouts and the retry policy follow Restate's defaults
 * (worker.rs DEFAULT_INACTIVITY_TIMEOUT / DEFAULT_ABORT_TIMEOUT, invocation.rs
 * InvocationRetryPolicyOptions: 500ms initial, factor 2, 60s max interval, 70 attempts, pause).
 */
export const DEFAULT_CONFIG: Readonly<Config> = Object.freeze<Config>({
  dataDir: './endure-data',
  ingress: { host: '127.0.0.1', port: 8080 },
  admin: { host: '127.0.0.1', port: 9070 },
  partitions: 24,
  logLevel: 'info',
  logFormat: 'json',
  inactivityTimeoutMs: 60_000,
  abortTimeoutMs: 600_000,
  ingressMaxBodyBytes: 10 * 1024 * 1024,
  eagerStateMaxBytes: 1024 * 1024,
  retry: {
    initialIntervalMs: 500,
    factor: 2,
    maxIntervalMs: 60_000,
    maxAttempts: 70,
    onMaxAttempts: 'pause',
  },
  requestIdentityPrivateKeyPemFile: undefined,
  tracingEndpoint: undefined,
});
