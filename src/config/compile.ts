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

/** One configurable option: where it can come from and how to parse it. */
interface Option<T> {
  flag: string;
  env: string;
  kind: ValueKind<T>;
}

const opt = <T>(flag: string, env: string, kind: ValueKind<T>): Option<T> => ({ flag, env, kind });

/** Every option, keyed by its camelCase flag name. */
const OPTIONS = {
  dataDir: opt('--data-dir', 'ENDURE_DATA_DIR', kinds.text),
  store: opt('--store', 'ENDURE_STORE', kinds.storeUrl),
  storeSchema: opt('--store-schema', 'ENDURE_STORE_SCHEMA', kinds.schemaName),
  ingressBind: opt('--ingress-bind', 'ENDURE_INGRESS_BIND', kinds.bind),
  adminBind: opt('--admin-bind', 'ENDURE_ADMIN_BIND', kinds.bind),
  partitions: opt('--partitions', 'ENDURE_PARTITIONS', kinds.partitions),
  logLevel: opt('--log-level', 'ENDURE_LOG_LEVEL', kinds.logLevel),
  inactivityTimeout: opt('--inactivity-timeout', 'ENDURE_INACTIVITY_TIMEOUT', kinds.duration),
  abortTimeout: opt('--abort-timeout', 'ENDURE_ABORT_TIMEOUT', kinds.duration),
  ingressMaxBodyBytes: opt('--ingress-max-body-bytes', 'ENDURE_INGRESS_MAX_BODY_BYTES', kinds.bytes),
  eagerStateMaxBytes: opt('--eager-state-max-bytes', 'ENDURE_EAGER_STATE_MAX_BYTES', kinds.bytes),
  retryInitialInterval: opt('--retry-initial-interval', 'ENDURE_RETRY_INITIAL_INTERVAL', kinds.positiveDuration),
  retryFactor: opt('--retry-factor', 'ENDURE_RETRY_FACTOR', kinds.factor),
  retryMaxInterval: opt('--retry-max-interval', 'ENDURE_RETRY_MAX_INTERVAL', kinds.positiveDuration),
  retryMaxAttempts: opt('--retry-max-attempts', 'ENDURE_RETRY_MAX_ATTEMPTS', kinds.maxAttempts),
  retryOnMaxAttempts: opt('--retry-on-max-attempts', 'ENDURE_RETRY_ON_MAX_ATTEMPTS', kinds.onMaxAttempts),
};

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
    const flagValue = flags[key];
    const envValue = env[option.env];
    let source: string;
    let raw: string | number | boolean;
    if (flagValue !== undefined) {
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
    issues.push(`${source}: expected ${option.kind.expected}, got ${JSON.stringify(raw)}`);
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
    inactivityTimeoutMs: read('inactivityTimeout', d.inactivityTimeoutMs),
    abortTimeoutMs: read('abortTimeout', d.abortTimeoutMs),
    ingressMaxBodyBytes: read('ingressMaxBodyBytes', d.ingressMaxBodyBytes),
    eagerStateMaxBytes: read('eagerStateMaxBytes', d.eagerStateMaxBytes),
    retry: {
      initialIntervalMs: read('retryInitialInterval', d.retry.initialIntervalMs),
      factor: read('retryFactor', d.retry.factor),
      maxIntervalMs: read('retryMaxInterval', d.retry.maxIntervalMs),
      maxAttempts: read('retryMaxAttempts', d.retry.maxAttempts),
      onMaxAttempts: read('retryOnMaxAttempts', d.retry.onMaxAttempts),
    },
  };

  if (issues.length === 0 && config.retry.maxIntervalMs < config.retry.initialIntervalMs) {
    issues.push(
      `retry: max interval (${config.retry.maxIntervalMs}ms) is shorter than the initial interval (${config.retry.initialIntervalMs}ms)`,
    );
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return config;
}
