/**
 * The invoker: runs invocations on service deployments over the service protocol, for the
 * partitions this node leads. It turns what SDKs send into log commands and never writes the
 * store itself; acks and completions reach an SDK only after the partition applied them.
 */
export { Invoker, type AttemptInfo } from './invoker.ts';
export type { InvokerDeps, DeploymentInfo } from './deps.ts';
export { backoffDelay, type RetryPolicy } from './retry.ts';
