/**
 * Durable timers: sleeps, delayed invocations, retention clean-up. Timers are rows in the store
 * written by apply; this module fires them on the leader by appending to the log, and never
 * writes the store itself.
 */
export { TimerService } from './timer-service.ts';
