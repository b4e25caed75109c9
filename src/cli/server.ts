import type { Command } from 'commander';
import { createLogger } from '../common/logger.ts';
import { SERVER_FLAGS, compileConfig } from '../config/index.ts';

/** Flags of `endure server`, as commander yields them (camelCase names, raw text values). */
type ServerFlags = Record<string, string | boolean | undefined>;

/** Adds `endure server`, with one option per entry of the settings table in src/config. */
export function addServerCommand(program: Command): void {
  const server = program
    .command('server')
    .description('run an Endure node (ingress, admin API, partitions) on the local data directory or a PostgreSQL store');
  // No commander defaults: an absent flag must leave room for its ENDURE_* variable.
  for (const f of SERVER_FLAGS) {
    server.option(f.placeholder === undefined ? f.flag : `${f.flag} <${f.placeholder}>`, `${f.help} (env ${f.env})`);
  }
  server
    .action(async (flags: ServerFlags) => {
      // Configuration errors surface before anything starts (ConfigError is handled in main).
      const config = compileConfig({ flags: { ...flags }, env: process.env });
      const logger = createLogger(config.logLevel, config.logFormat);
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
      // SIGHUP re-reads the token files (the usual "reload" signal), instead of ending the server.
      process.on('SIGHUP', () => {
        node.reloadAuth().catch((err: unknown) => logger.error({ err }, 'reloading the token files failed'));
      });
    });
}
