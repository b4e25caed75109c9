import type { Command } from 'commander';
import { createLogger } from '../common/logger.ts';
import { compileConfig } from '../config/index.ts';

/** Flags of `endure server`, as commander yields them. */
interface ServerFlags {
  dataDir?: string;
  store?: string;
  storeSchema?: string;
  ingressBind?: string;
  adminBind?: string;
  partitions?: string;
  logLevel?: string;
}

/** Adds `endure server`. */
export function addServerCommand(program: Command): void {
  program
    .command('server')
    .description('run an Endure node (ingress, admin API, partitions) on the local data directory')
    .option('--data-dir <dir>', 'data directory (env ENDURE_DATA_DIR, default ./endure-data)')
    .option('--store <url>', 'postgres://… to store everything in PostgreSQL (env ENDURE_STORE, default SQLite in the data directory)')
    .option('--store-schema <name>', 'PostgreSQL schema of Endure\'s tables (env ENDURE_STORE_SCHEMA, default endure)')
    .option('--ingress-bind <host:port>', 'ingress listen address (env ENDURE_INGRESS_BIND, default 127.0.0.1:8080)')
    .option('--admin-bind <host:port>', 'admin API listen address (env ENDURE_ADMIN_BIND, default 127.0.0.1:9070)')
    .option('--partitions <n>', 'number of partitions, fixed at creation (env ENDURE_PARTITIONS, default 24)')
    .option('--log-level <level>', 'trace|debug|info|warn|error|fatal|silent (env ENDURE_LOG_LEVEL, default info)')
    .action(async (flags: ServerFlags) => {
      // Configuration errors surface before anything starts (ConfigError is handled in main).
      const config = compileConfig({ flags: { ...flags }, env: process.env });
      const logger = createLogger(config.logLevel);
      const { startNode } = await import('../node/index.ts');
      const node = await startNode(config, logger);
      logger.info({ ingress: node.ingressUrl, admin: node.adminUrl, dataDir: config.dataDir }, 'endure started');

      let stopping = false;
      const stop = (signal: NodeJS.Signals) => {
        if (stopping) {
          logger.warn({ signal }, 'second signal, exiting immediately');
          logger.flush();
          process.exit(1);
        }
        stopping = true;
        logger.info({ signal }, 'shutting down');
        node.close().then(
          () => {
            logger.info('stopped');
            logger.flush();
            process.exit(0);
          },
          (err: unknown) => {
            logger.error({ err }, 'shutdown failed');
            logger.flush();
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
}
