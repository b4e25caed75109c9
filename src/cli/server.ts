import type { Command } from 'commander';
import { createLogger, type Logger } from '../common/logger.ts';
import { SERVER_FLAGS, compileConfig, type Config } from '../config/index.ts';
import type { EndureNode, WorkerSupervisor } from '../node/index.ts';

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
      const { prepareStore, superviseWorkers, workerIndex } = await import('../node/index.ts');
      const index = workerIndex();
      if (config.workers > 1 && index === undefined) {
        // Checked and migrated once, here, before the workers open the store side by side.
        await prepareStore(config, logger);
        await runSupervisor(config.workers, config.dataDir, logger, superviseWorkers);
        return;
      }
      await runNode(config, index === undefined ? logger : logger.child({ worker: index }), index);
    });
}

/** The primary process of a node of several workers: forks them and keeps them running. */
async function runSupervisor(
  count: number,
  dataDir: string,
  logger: Logger,
  superviseWorkers: (count: number, logger: Logger) => WorkerSupervisor,
): Promise<void> {
  const supervisor = superviseWorkers(count, logger);
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down the workers');
    void supervisor.stop().then(() => {
      logger.info('stopped');
      logger.flush();
      process.exit(0);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', () => supervisor.signal('SIGHUP'));
  const { ingressUrl, adminUrl } = await supervisor.started;
  logger.info({ ingress: ingressUrl, admin: adminUrl, dataDir, workers: count }, 'endure started');
}

/** One process serving requests: a whole node, or one worker of a node of several. */
async function runNode(config: Config, logger: Logger, index: number | undefined): Promise<void> {
  const { startNode, workerChannel } = await import('../node/index.ts');
  // The reload callback needs the node, which needs the channel's role: tie them through `node`.
  let node: EndureNode | undefined;
  const channel = index === undefined ? undefined : workerChannel(index, async () => node?.reloadDeployments(), logger);
  node = await startNode(config, logger, channel === undefined ? {} : { worker: channel.role });
  logger.info({ ingress: node.ingressUrl, admin: node.adminUrl, dataDir: config.dataDir }, 'endure started');
  // A server always listens on both (it opens them unless told otherwise).
  channel?.started(node.ingressUrl!, node.adminUrl!);
  const started = node;

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal, exiting immediately');
      logger.flush();
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    started.close().then(
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
  // A worker is stopped by its supervisor (SIGTERM): Ctrl-C in a terminal reaches the whole
  // process group, and the worker leaves it to the supervisor rather than stopping twice.
  process.on('SIGINT', index === undefined ? stop : () => undefined);
  // SIGHUP re-reads the token files (the usual "reload" signal), instead of ending the server.
  process.on('SIGHUP', () => {
    started.reloadAuth().catch((err: unknown) => logger.error({ err }, 'reloading the token files failed'));
  });
}
