import './polyfill.ts';
import { resolve } from 'node:path';
import type { EndpointOptions } from '@restatedev/restate-sdk/fetch';
import type { Ingress } from '@restatedev/restate-sdk-clients';
import { createLogger } from '../common/logger.ts';
import { ConfigError, LOG_LEVELS, compileConfig, parseBind, type LogLevel } from '../config/index.ts';
import { startNode } from '../node/index.ts';
import type { FetchHandler } from '../protocol/index.ts';
import { inProcessClient } from './client.ts';

/** Services, virtual objects and workflows defined with `@restatedev/restate-sdk`. */
export type ServiceDefinitions = EndpointOptions['services'];

/** Options of {@link startEndure}. */
export interface StartEndureOptions {
  /** Where the SQLite database lives; created when missing. Restart on the same directory to resume. */
  readonly dataDir: string;
  /** The services this process serves, in-process (no socket between Endure and them). */
  readonly services: ServiceDefinitions;
  /**
   * Ingress listen address, `host:port`; default `127.0.0.1:0` (a free port, see `ingressUrl`).
   * `false`: no listener — the process reaches its services only through `client`.
   */
  readonly ingress?: string | false;
  /** Admin API listen address, `host:port`; default `127.0.0.1:0` (a free port, see `adminUrl`). `false`: no admin API. */
  readonly admin?: string | false;
  /** Number of partitions, fixed when the data directory is created; default 24. */
  readonly partitions?: number;
  /** Endure's own log level (JSON lines on stdout); default `warn`. */
  readonly logLevel?: LogLevel;
}

/** Endure running inside this process. */
export interface EmbeddedEndure {
  /** Base URL of the HTTP ingress: call `${ingressUrl}/Service/handler` as on a server (undefined with `ingress: false`). */
  readonly ingressUrl: string | undefined;
  /** Base URL of the admin API: deployments, services, invocations, health (undefined with `admin: false`). */
  readonly adminUrl: string | undefined;
  /** The data directory in use (absolute). */
  readonly dataDir: string;
  /**
   * Typed calls to the services, the client of `@restatedev/restate-sdk-clients` served
   * in-process (no socket): `client.serviceClient(greeter).greet('Ada')`,
   * `client.objectClient(counter, 'k').add(1)`, `client.workflowClient(wf, id).workflowSubmit(...)`,
   * `client.serviceSendClient(greeter).greet('Ada', rpc.sendOpts({ delay }))` and `client.result(send)`.
   */
  readonly client: Ingress;
  /** Stops accepting requests, lets in-flight work reach the log, closes the store. */
  stop(): Promise<void>;
}

/** The deployment URL under which a process registers its in-process services. */
export const IN_PROCESS_DEPLOYMENT_URL = 'inprocess://services';

/**
 * Starts the same node `endure server` runs (log, partition processors, invoker, timers,
 * ingress, admin) inside the calling process, with `services` reached in-process through the
 * SDK's fetch-style handler in bidirectional mode. Durable like the server: if the process dies,
 * starting again on the same `dataDir` resumes what was in flight.
 */
export async function startEndure(options: StartEndureOptions): Promise<EmbeddedEndure> {
  checkOptions(options);
  const dataDir = resolve(options.dataDir);
  const config = compileConfig({
    flags: {
      dataDir,
      ingressBind: options.ingress || '127.0.0.1:0',
      adminBind: options.admin || '127.0.0.1:0',
      partitions: options.partitions === undefined ? undefined : String(options.partitions),
      logLevel: options.logLevel ?? 'warn',
    },
  });
  // Loaded here, not at the top: the SDK is a peer dependency that `endure server` users need not have.
  const { createEndpointHandler } = await import('@restatedev/restate-sdk/fetch');
  const handler = createEndpointHandler({ services: options.services, bidirectional: true }) as FetchHandler;
  const logger = createLogger(config.logLevel);
  const node = await startNode(config, logger, {
    inProcess: { url: IN_PROCESS_DEPLOYMENT_URL, handler },
    listen: { ingress: options.ingress !== false, admin: options.admin !== false },
  });
  return {
    ingressUrl: node.ingressUrl,
    adminUrl: node.adminUrl,
    dataDir,
    client: inProcessClient(node.ingress),
    stop: async () => {
      await node.close();
      logger.flush();
    },
  };
}

/**
 * Checks the options before anything starts, naming each bad one the way the caller wrote it
 * (`ingress`, not the server's `--ingress-bind`); every problem is reported in one ConfigError.
 */
function checkOptions(options: StartEndureOptions): void {
  const issues: string[] = [];
  const o = (options ?? {}) as Partial<Record<keyof StartEndureOptions, unknown>>;
  if (typeof o.dataDir !== 'string' || o.dataDir.trim() === '') issues.push('dataDir: expected the path of a directory');
  if (!Array.isArray(o.services) || o.services.length === 0) {
    issues.push('services: expected a non-empty array of services, objects or workflows from @restatedev/restate-sdk');
  } else if (!o.services.every((d: unknown) => typeof d === 'object' && d !== null && typeof (d as { name?: unknown }).name === 'string')) {
    issues.push('services: every entry must be a definition made with restate.service(), restate.object() or restate.workflow()');
  }
  for (const name of ['ingress', 'admin'] as const) {
    const v = o[name];
    if (v !== undefined && v !== false && (typeof v !== 'string' || parseBind(v) === undefined)) {
      issues.push(`${name}: expected host:port (port 0 for a free one) or false (no listener), got ${JSON.stringify(v)}`);
    }
  }
  const p = o.partitions;
  if (p !== undefined && !(typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 1024)) {
    issues.push(`partitions: expected an integer between 1 and 1024, got ${JSON.stringify(p)}`);
  }
  const level = o.logLevel;
  if (level !== undefined && !(LOG_LEVELS as readonly unknown[]).includes(level)) {
    issues.push(`logLevel: expected one of ${LOG_LEVELS.join('|')}, got ${JSON.stringify(level)}`);
  }
  if (issues.length > 0) throw new ConfigError(issues);
}
