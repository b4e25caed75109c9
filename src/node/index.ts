/**
 * A node: wires storage, the partition processors, the leader's services (invoker, timers,
 * outbox shuffle) and the HTTP interfaces together, and owns start-up and shutdown order.
 */
export { startNode, type EndureNode, type NodeOptions } from './node.ts';
