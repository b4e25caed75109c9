/**
 * A node: wires storage, the partition processors, the leader's services (invoker, timers,
 * outbox shuffle) and the HTTP interfaces together, and owns start-up and shutdown order.
 */
export { prepareStore, startNode, type EndureNode, type NodeOptions } from './node.ts';
export { superviseWorkers, workerChannel, workerIndex, type WorkerSupervisor } from './workers.ts';
export type { WorkerRole } from './node.ts';
