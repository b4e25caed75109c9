/**
 * The partition processors: the deterministic state machine (`apply`) and the commit loop that
 * appends commands to the partition logs and applies them in the same transaction. The worker
 * decides; it never performs I/O besides the store, and its actions are carried out by the
 * leader only after the commit (DESIGN.md §3).
 */
export { Worker, type WorkerHealth } from './processor.ts';
export { NotLeaderError, type Leadership } from './leadership.ts';
export { apply, type ApplyContext } from './state-machine.ts';

export type * from './model.ts';
