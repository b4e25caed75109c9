/**
 * What an invoker and its attempts need from the rest of the node. Its own module so that the
 * invoker and the attempts it runs both depend on it, and not on each other.
 */
import type { Logger } from 'pino';
import type { Tracing } from '../common/tracing.ts';
import type { InvocationStream, InvocationStreamOptions, RequestIdentity } from '../protocol/index.ts';
import type { PartitionReader } from '../store/index.ts';
import type { Command, ResolvedTarget } from '../types/index.ts';
import type { RetryPolicy } from './retry.ts';

/** The deployment facts an attempt needs. */
export interface DeploymentInfo {
  readonly id: string;
  readonly url: string;
  readonly protocolMode: 'BIDI_STREAM' | 'REQUEST_RESPONSE';
  readonly minProtocolVersion: number;
  readonly maxProtocolVersion: number;
  readonly useHttp11: boolean;
  readonly additionalHeaders: Record<string, string>;
}

/** What the invoker needs from the rest of the node. */
export interface InvokerDeps {
  readonly store: PartitionReader;
  readonly registry: { getDeployment(id: string): DeploymentInfo | undefined };
  readonly latestDeployment: (service: string) => DeploymentInfo | undefined;
  readonly resolveTarget: (service: string, handler: string, key: string | undefined) => ResolvedTarget | undefined;
  readonly lazyState: (service: string) => boolean;
  readonly negotiate: (min: number, max: number) => number;
  /** Appends a command to a partition's log; resolves once it is durable and applied. */
  readonly submit: (partition: number, command: Command) => Promise<void>;
  /**
   * Resolves once the partitions accept commands again after refusing one (a full disk): when
   * an attempt whose command was refused runs again. Without it, such attempts are retried
   * on a short backoff.
   */
  readonly writable?: () => Promise<void>;
  readonly config: {
    readonly inactivityTimeoutMs: number;
    readonly abortTimeoutMs: number;
    readonly eagerStateMaxBytes: number;
    /** Bytes of invocation messages the node holds in memory at once, over all streams. */
    readonly memoryLimitBytes: number;
  };
  /** The retry policy of a handler: its manifest overrides on top of the server's defaults. */
  readonly retryPolicy: (service: string, handler: string) => RetryPolicy;
  readonly logger: Logger;
  /** Signs every invocation request (Restate's request identity), when configured. */
  readonly identity?: RequestIdentity | undefined;
  /** Records the spans of invocations, when tracing is configured. */
  readonly tracing?: Tracing | undefined;
  /** Opens an attempt's stream; the network transports by default (embedded mode adds its own). */
  readonly openStream?: (opts: InvocationStreamOptions) => InvocationStream;
}
