import { destination, pino, stdTimeFunctions } from 'pino';
import type { LogLevel } from '../config/index.ts';

/** The structured logger used across Endure. */
export type Logger = import('pino').Logger;

/**
 * Creates the process logger: one JSON object per line on stdout, ISO timestamps and the level
 * as a name (not pino's number) so that the lines read well in a terminal and in `jq`.
 */
export function createLogger(level: LogLevel = 'info', bindings: Record<string, unknown> = {}): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid, ...bindings },
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination({ dest: 1, sync: false }),
  );
}
