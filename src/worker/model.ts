/**
 * The partition records the worker applies and produces. They are defined in types/ (the log and
 * the store use them too, and must not import the worker); re-exported here for the worker's own
 * modules.
 */
export type * from '../types/records.ts';
