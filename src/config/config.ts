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

/** Bounds on the HTTP listeners (ingress and admin API). */
export interface HttpLimits {
  ingressMaxConnections: number;
  adminMaxConnections: number;
  /** Time a client has to send the request line and headers. */
  headersTimeoutMs: number;
  /** Time a client has to send a whole request, headers and body. */
  requestTimeoutMs: number;
}

/**
 * Where the bearer tokens of one listener come from. Auth is on when either is given: a
 * request must then carry one of the tokens from the file or the variable.
 */
export interface TokenSource {
  /** A file of tokens, one a line (`#` comments); re-read when it changes. */
  tokenFile: string | undefined;
  tokens: readonly string[];
}

/** Bearer-token auth of the admin API and the ingress. */
export interface AuthConfig {
  admin: TokenSource;
  ingress: TokenSource;
}

/** Kinds of broker a subscription can consume from. */
export const BROKER_KINDS = ['nats', 'rabbitmq', 'kafka'] as const;
/** A broker kind. */
export type BrokerKind = (typeof BROKER_KINDS)[number];

/**
 * A broker cluster that subscriptions name in their source (`nats://<name>/<subject>`). The
 * URL's scheme gives the kind: `nats://` (NATS), `amqp://` or `amqps://` (RabbitMQ),
 * `kafka://host:port,host:port` (Kafka bootstrap brokers).
 */
export interface BrokerCluster {
  name: string;
  kind: BrokerKind;
  /** NATS: server URLs; RabbitMQ: one AMQP URL; Kafka: `host:port` bootstrap brokers. */
  servers: readonly string[];
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
  logFormat: LogFormat;
  inactivityTimeoutMs: number;
  abortTimeoutMs: number;
  ingressMaxBodyBytes: number;
  eagerStateMaxBytes: number;
  http: HttpLimits;
  auth: AuthConfig;
  /** Bytes of invocation messages held in memory at once, over all streams of the node. */
  invokerMemoryLimitBytes: number;
  /** Start without checking an existing database's integrity (a faster start on a big store). */
  skipIntegrityCheck: boolean;
  retry: RetryConfig;
  /** PEM file with the Ed25519 key that signs requests to services; unsigned when absent. */
  requestIdentityPrivateKeyPemFile: string | undefined;
  /** OTLP/HTTP collector that receives traces of invocations; no tracing when absent. */
  tracingEndpoint: string | undefined;
  /** Broker clusters that subscriptions may consume from, by name. */
  subscriptionClusters: readonly BrokerCluster[];
  /**
   * Worker processes of this node (`--workers`). 1: one process leads every partition. More:
   * a supervising process forks that many workers sharing the listening sockets, each a member
   * of the placement (partition leases) leading its share of the partitions.
   */
  workers: number;
  /** Cluster membership on a PostgreSQL store. */
  cluster: ClusterConfig;
}

/**
 * A node of a cluster on PostgreSQL. With a `nodeName`, the node takes partition leases and
 * leads only its share; without one it leads every partition (one node per store).
 */
export interface ClusterConfig {
  /** This node's unique name in the lease rows; undefined: not a cluster node. */
  nodeName: string | undefined;
  /** How long a partition lease runs without renewal: the failover time after a node dies. */
  leaseMs: number;
  /** `host:port` where other nodes reach this node's ingress; defaults to the ingress bind. */
  advertiseAddress: string | undefined;
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
  logFormat: 'json',
  inactivityTimeoutMs: 60_000,
  abortTimeoutMs: 600_000,
  ingressMaxBodyBytes: 10 * 1024 * 1024,
  eagerStateMaxBytes: 1024 * 1024,
  http: {
    ingressMaxConnections: 10_000,
    adminMaxConnections: 1000,
    headersTimeoutMs: 30_000,
    requestTimeoutMs: 120_000,
  },
  auth: {
    admin: { tokenFile: undefined, tokens: [] },
    ingress: { tokenFile: undefined, tokens: [] },
  },
  // Room for several of the largest messages (64 MiB frames) at once.
  invokerMemoryLimitBytes: 256 * 1024 * 1024,
  skipIntegrityCheck: false,
  retry: {
    initialIntervalMs: 500,
    factor: 2,
    maxIntervalMs: 60_000,
    maxAttempts: 70,
    onMaxAttempts: 'pause',
  },
  requestIdentityPrivateKeyPemFile: undefined,
  tracingEndpoint: undefined,
  subscriptionClusters: [],
  workers: 1,
  cluster: { nodeName: undefined, leaseMs: 3000, advertiseAddress: undefined },
});
