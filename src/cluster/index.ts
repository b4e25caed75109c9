/**
 * Partition placement in a cluster of nodes sharing one PostgreSQL store: which node leads which
 * partition at which epoch. The lease manager is the one owner of "am I leader of p at epoch e";
 * everything that acts (the commit loop, timers, invoker, outbox shuffle) asks it and caches
 * nothing. It never writes partition state: fencing of commits lives in the worker's batch
 * transaction, which checks the epoch this module hands out against the lease row (rule 4).
 */
export { LeaseManager, type LeaseManagerOptions, type LeaseState, type Clock } from './lease-manager.ts';
