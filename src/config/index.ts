/**
 * Configuration of an Endure node: the `Config` type, its defaults and `compileConfig`, which
 * turns flags and `ENDURE_*` variables into a validated Config once at start-up. This module owns
 * parsing and validation only; it never reads files or the process environment by itself.
 */
export { compileConfig, SERVER_FLAGS } from './compile.ts';
export type { ConfigInput, ServerFlag } from './compile.ts';
export { BROKER_KINDS, DEFAULT_CONFIG, LOG_FORMATS, LOG_LEVELS, ON_MAX_ATTEMPTS } from './config.ts';
export type { AuthConfig, BindAddress, BrokerCluster, BrokerKind, Config, HttpLimits, TokenSource, LogFormat, LogLevel, OnMaxAttempts, RetryConfig } from './config.ts';
export { ConfigError } from './errors.ts';
export { MIN_TOKEN_LENGTH, parseBind, parseBrokerClusters, parseBytes, parseDurationMs, parseTokens } from './values.ts';
