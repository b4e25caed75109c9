import { DEFAULT_CONFIG } from './config.ts';
import type { Config } from './config.ts';
import { ConfigError } from './errors.ts';
import { kinds } from './values.ts';
import type { ValueKind } from './values.ts';

/** Raw inputs: command-line flags (camelCase, as commander yields them) and the environment. */
export interface ConfigInput {
  flags?: Record<string, string | number | boolean | undefined>;
  env?: Record<string, string | undefined>;
}

/** One configurable setting: its flag, its variable, how to parse it and what it means. */
interface Option<T> {
  /** undefined for a setting that only has a variable (secrets stay out of the process list). */
  flag: string | undefined;
  env: string;
  kind: ValueKind<T>;
  help: string;
}

const opt = <T>(flag: string | undefined, env: string, kind: ValueKind<T>, help: string): Option<T> => ({ flag, env, kind, help });

/**
 * Every setting of `endure server`, in the order `--help` lists them. This table is the only
 * place a flag is declared: the CLI builds its options from it, so a documented setting cannot
 * exist as a variable only. Adding a setting is one entry here, its field in `Config` with a
 * default, and one `read(...)` in `compileConfig`.
 */
const OPTIONS = {
  dataDir: opt('--data-dir', 'ENDURE_DATA_DIR', kinds.path, 'where the SQLite database lives'),
  store: opt('--store', 'ENDURE_STORE', kinds.storeUrl, 'postgres://user@host:port/database to keep everything in PostgreSQL instead of SQLite'),
  storeSchema: opt('--store-schema', 'ENDURE_STORE_SCHEMA', kinds.schemaName, 'PostgreSQL schema that holds Endure\'s tables (with --store)'),
  ingressBind: opt('--ingress-bind', 'ENDURE_INGRESS_BIND', kinds.bind, 'HTTP ingress listen address'),
  adminBind: opt('--admin-bind', 'ENDURE_ADMIN_BIND', kinds.bind, 'admin API listen address'),
  partitions: opt('--partitions', 'ENDURE_PARTITIONS', kinds.partitions, 'number of partitions, fixed when the data directory is created'),
  logLevel: opt('--log-level', 'ENDURE_LOG_LEVEL', kinds.logLevel, 'trace|debug|info|warn|error|fatal|silent'),
  logFormat: opt('--log-format', 'ENDURE_LOG_FORMAT', kinds.logFormat, 'json (one object per line) or pretty (for a terminal)'),
  inactivityTimeout: opt('--inactivity-timeout', 'ENDURE_INACTIVITY_TIMEOUT', kinds.duration, 'idle time after which a waiting handler is asked to suspend'),
  abortTimeout: opt('--abort-timeout', 'ENDURE_ABORT_TIMEOUT', kinds.duration, 'time after the suspend request before the attempt is aborted'),
  ingressMaxBodyBytes: opt('--ingress-max-body-bytes', 'ENDURE_INGRESS_MAX_BODY_BYTES', kinds.bytes, 'larger request bodies get 413'),
  eagerStateMaxBytes: opt('--eager-state-max-bytes', 'ENDURE_EAGER_STATE_MAX_BYTES', kinds.bytes, 'object state up to this size is sent with the invocation'),
  invokerMemoryLimit: opt('--invoker-memory-limit', 'ENDURE_INVOKER_MEMORY_LIMIT', kinds.bytes, 'bytes of invocation messages held in memory at once, over all streams'),
  retryInitialInterval: opt('--retry-initial-interval', 'ENDURE_RETRY_INITIAL_INTERVAL', kinds.positiveDuration, 'first delay before retrying a failed attempt'),
  retryFactor: opt('--retry-factor', 'ENDURE_RETRY_FACTOR', kinds.factor, 'growth of the retry delay'),
  retryMaxInterval: opt('--retry-max-interval', 'ENDURE_RETRY_MAX_INTERVAL', kinds.positiveDuration, 'cap on the retry delay'),
  retryMaxAttempts: opt('--retry-max-attempts', 'ENDURE_RETRY_MAX_ATTEMPTS', kinds.maxAttempts, 'attempts before --retry-on-max-attempts applies'),
  retryOnMaxAttempts: opt('--retry-on-max-attempts', 'ENDURE_RETRY_ON_MAX_ATTEMPTS', kinds.onMaxAttempts, 'pause|kill the invocation once its attempts are exhausted'),
  requestIdentityPrivateKeyPemFile: opt('--request-identity-private-key-pem-file', 'ENDURE_REQUEST_IDENTITY_PRIVATE_KEY_PEM_FILE', kinds.path, 'Ed25519 private key (PEM) that signs every request to services'),
  ingressMaxConnections: opt('--ingress-max-connections', 'ENDURE_INGRESS_MAX_CONNECTIONS', kinds.positiveInt, 'open ingress connections beyond this are closed at once'),
  adminMaxConnections: opt('--admin-max-connections', 'ENDURE_ADMIN_MAX_CONNECTIONS', kinds.positiveInt, 'open admin API connections beyond this are closed at once'),
  requestHeadersTimeout: opt('--request-headers-timeout', 'ENDURE_REQUEST_HEADERS_TIMEOUT', kinds.positiveDuration, 'time a client has to send a request\'s headers'),
  requestReadTimeout: opt('--request-read-timeout', 'ENDURE_REQUEST_READ_TIMEOUT', kinds.positiveDuration, 'time a client has to send a whole request, headers and body (408 beyond)'),
  adminTokenFile: opt('--admin-token-file', 'ENDURE_ADMIN_TOKEN_FILE', kinds.path, 'file of bearer tokens the admin API accepts, one a line; re-read when it changes or on SIGHUP'),
  adminTokens: opt(undefined, 'ENDURE_ADMIN_TOKENS', kinds.tokens, 'bearer tokens the admin API accepts'),
  ingressTokenFile: opt('--ingress-token-file', 'ENDURE_INGRESS_TOKEN_FILE', kinds.path, 'file of bearer tokens the ingress accepts, one a line; re-read when it changes or on SIGHUP'),
  ingressTokens: opt(undefined, 'ENDURE_INGRESS_TOKENS', kinds.tokens, 'bearer tokens the ingress accepts'),
  skipIntegrityCheck: opt('--skip-integrity-check', 'ENDURE_SKIP_INTEGRITY_CHECK', kinds.switch, 'start without PRAGMA quick_check on an existing database'),
  tracingEndpoint: opt('--tracing-endpoint', 'ENDURE_TRACING_ENDPOINT', kinds.httpUrl, 'OTLP/HTTP collector for traces of invocations, e.g. http://127.0.0.1:4318'),
  subscriptionClusters: opt('--subscription-clusters', 'ENDURE_SUBSCRIPTION_CLUSTERS', kinds.brokerClusters, 'broker clusters subscriptions consume from: name=nats://host:port, name=amqp://user:pass@host:port, name=kafka://host:port,... separated by spaces'),
  nodeName: opt('--node-name', 'ENDURE_NODE_NAME', kinds.nodeName, 'this node\'s unique name in a cluster on PostgreSQL (with --store): it then leads only its share of the partitions'),
  leaseDuration: opt('--lease-duration', 'ENDURE_LEASE_DURATION', kinds.positiveDuration, 'how long a partition lease runs without renewal (with --node-name): the failover time when a node dies'),
  workers: opt('--workers', 'ENDURE_WORKERS', kinds.workers, 'worker processes of this node, each leading its share of the partitions on its own core; auto: one per core'),
  advertiseAddress: opt('--advertise-address', 'ENDURE_ADVERTISE_ADDRESS', kinds.bind, 'host:port where other nodes reach this node\'s ingress (with --node-name); default: the ingress bind address'),
};

/** A flag of `endure server` as the CLI declares it. */
export interface ServerFlag {
  /** `--data-dir` */
  flag: string;
  env: string;
  /** Name of the value in `--help` (`<duration>`), or undefined for an on/off switch. */
  placeholder: string | undefined;
  help: string;
}

/** Every flag of `endure server`, derived from the settings table. */
export const SERVER_FLAGS: readonly ServerFlag[] = Object.values(OPTIONS).flatMap((o: Option<unknown>) =>
  o.flag === undefined ? [] : [{ flag: o.flag, env: o.env, placeholder: o.kind.placeholder, help: o.help }],
);

function kebabToCamel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Compiles the configuration once, at start-up: flags win over `ENDURE_*` variables, which win
 * over the defaults. Every bad value is reported (not just the first) in one ConfigError.
 */
export function compileConfig(input: ConfigInput = {}): Config {
  const flags: Record<string, string | number | boolean | undefined> = {};
  for (const [name, value] of Object.entries(input.flags ?? {})) flags[kebabToCamel(name)] = value;
  const env = input.env ?? {};
  const issues: string[] = [];

  function read<T>(key: keyof typeof OPTIONS, fallback: T): T {
    const option = OPTIONS[key] as unknown as Option<T>;
    const flagValue = option.flag === undefined ? undefined : flags[kebabToCamel(option.flag.slice(2))];
    const envValue = env[option.env];
    let source: string;
    let raw: string | number | boolean;
    if (flagValue !== undefined && option.flag !== undefined) {
      source = option.flag;
      raw = flagValue;
    } else if (envValue !== undefined && envValue !== '') {
      source = option.env;
      raw = envValue;
    } else {
      return fallback;
    }
    const result = option.kind.schema.safeParse(raw);
    if (result.success) return result.data;
    const shown = option.kind.secret === true ? 'a value that is not (not repeated here: it is a secret)' : JSON.stringify(raw);
    issues.push(`${source}: expected ${option.kind.expected}, got ${shown}`);
    return fallback;
  }

  const d = DEFAULT_CONFIG;
  const config: Config = {
    dataDir: read('dataDir', d.dataDir),
    store: read('store', d.store),
    storeSchema: read('storeSchema', d.storeSchema),
    ingress: read('ingressBind', { ...d.ingress }),
    admin: read('adminBind', { ...d.admin }),
    partitions: read('partitions', d.partitions),
    logLevel: read('logLevel', d.logLevel),
    logFormat: read('logFormat', d.logFormat),
    inactivityTimeoutMs: read('inactivityTimeout', d.inactivityTimeoutMs),
    abortTimeoutMs: read('abortTimeout', d.abortTimeoutMs),
    ingressMaxBodyBytes: read('ingressMaxBodyBytes', d.ingressMaxBodyBytes),
    eagerStateMaxBytes: read('eagerStateMaxBytes', d.eagerStateMaxBytes),
    http: {
      ingressMaxConnections: read('ingressMaxConnections', d.http.ingressMaxConnections),
      adminMaxConnections: read('adminMaxConnections', d.http.adminMaxConnections),
      headersTimeoutMs: read('requestHeadersTimeout', d.http.headersTimeoutMs),
      requestTimeoutMs: read('requestReadTimeout', d.http.requestTimeoutMs),
    },
    auth: {
      admin: { tokenFile: read('adminTokenFile', d.auth.admin.tokenFile), tokens: read('adminTokens', d.auth.admin.tokens) },
      ingress: { tokenFile: read('ingressTokenFile', d.auth.ingress.tokenFile), tokens: read('ingressTokens', d.auth.ingress.tokens) },
    },
    invokerMemoryLimitBytes: read('invokerMemoryLimit', d.invokerMemoryLimitBytes),
    skipIntegrityCheck: read('skipIntegrityCheck', d.skipIntegrityCheck),
    retry: {
      initialIntervalMs: read('retryInitialInterval', d.retry.initialIntervalMs),
      factor: read('retryFactor', d.retry.factor),
      maxIntervalMs: read('retryMaxInterval', d.retry.maxIntervalMs),
      maxAttempts: read('retryMaxAttempts', d.retry.maxAttempts),
      onMaxAttempts: read('retryOnMaxAttempts', d.retry.onMaxAttempts),
    },
    requestIdentityPrivateKeyPemFile: read('requestIdentityPrivateKeyPemFile', d.requestIdentityPrivateKeyPemFile),
    tracingEndpoint: read('tracingEndpoint', d.tracingEndpoint),
    subscriptionClusters: read('subscriptionClusters', d.subscriptionClusters),
    workers: read('workers', d.workers),
    cluster: {
      nodeName: read('nodeName', d.cluster.nodeName),
      leaseMs: read('leaseDuration', d.cluster.leaseMs),
      advertiseAddress: ((a: { host: string; port: number } | undefined) => (a === undefined ? undefined : `${a.host}:${a.port}`))(
        read<{ host: string; port: number } | undefined>('advertiseAddress', undefined),
      ),
    },
  };

  if (issues.length === 0 && config.retry.maxIntervalMs < config.retry.initialIntervalMs) {
    issues.push(
      `retry: max interval (${config.retry.maxIntervalMs}ms) is shorter than the initial interval (${config.retry.initialIntervalMs}ms)`,
    );
  }
  if (issues.length === 0 && config.http.requestTimeoutMs < config.http.headersTimeoutMs) {
    issues.push(
      `request timeouts: the read timeout (${config.http.requestTimeoutMs}ms) is shorter than the headers timeout (${config.http.headersTimeoutMs}ms)`,
    );
  }
  if (issues.length === 0 && config.cluster.nodeName !== undefined && config.store === null) {
    issues.push('--node-name: a cluster needs a shared store; give --store postgres://… as well');
  }
  if (issues.length === 0 && config.cluster.leaseMs < 300) {
    issues.push(`--lease-duration: at least 300ms (renewals run every third of it), got ${config.cluster.leaseMs}ms`);
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return config;
}
