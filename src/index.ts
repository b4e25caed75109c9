/**
 * Endure as a library: the public surface of the `endure` package. Everything a program that
 * embeds or drives Endure may use is exported here by name; the folders under src/ stay private.
 */
export { startNode, type EndureNode } from './node/index.ts';
export { compileConfig, ConfigError, DEFAULT_CONFIG, type Config, type ConfigInput, type LogLevel } from './config/index.ts';
export { createLogger, type Logger } from './common/logger.ts';
export {
  startEndure,
  IN_PROCESS_DEPLOYMENT_URL,
  type StartEndureOptions,
  type EmbeddedEndure,
  type ServiceDefinitions,
  rpc,
  type Ingress,
} from './embedded/index.ts';
export { EndureTestEnvironment, type TestEnvironmentOptions, type StateProxy, type StateSerde } from './testing/index.ts';
