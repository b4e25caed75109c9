/** Log levels accepted by `--log-level` / `ENDURE_LOG_LEVEL`. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
/** A log level name. */
export type LogLevel = (typeof LOG_LEVELS)[number];

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
  /** A `postgres://` URL to store everything in PostgreSQL; null keeps SQLite under `dataDir`. */
  store: string | null;
  /** The PostgreSQL schema that holds Endure's tables (unused on SQLite). */
  storeSchema: string;
  ingress: BindAddress;
  admin: BindAddress;
  partitions: number;
  logLevel: LogLevel;
  inactivityTimeoutMs: number;
  abortTimeoutMs: number;
  ingressMaxBodyBytes: number;
  eagerStateMaxBytes: number;
  retry: RetryConfig;
}

/**
 * Defaults. Timeouts and the retry policy follow Restate's defaults
 * (worker.rs DEFAULT_INACTIVITY_TIMEOUT / DEFAULT_ABORT_TIMEOUT, invocation.rs
 * InvocationRetryPolicyOptions: 500ms initial, factor 2, 60s max interval, 70 attempts, pause).
 */
export const DEFAULT_CONFIG: Readonly<Config> = Object.freeze<Config>({
  dataDir: './endure-data',
  store: null,
  storeSchema: 'endure',
  ingress: { host: '127.0.0.1', port: 8080 },
  admin: { host: '127.0.0.1', port: 9070 },
  partitions: 24,
  logLevel: 'info',
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
});
