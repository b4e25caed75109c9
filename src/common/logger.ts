import { destination, pino, stdTimeFunctions } from 'pino';
import { PinoPretty } from 'pino-pretty';
import type { LogFormat, LogLevel } from '../config/index.ts';

/** The structured logger used across Endure. */
export type Logger = import('pino').Logger;

/**
 * Creates the process logger on stdout. `json` (the default) writes one object per line, with
 * ISO timestamps and the level as a name (not pino's number), for `jq` and log collectors.
 * `pretty` writes one coloured line per entry (time, level, message, then the fields) for a
 * person at a terminal; colours only when stdout is a terminal.
 */
export function createLogger(level: LogLevel = 'info', format: LogFormat = 'json', bindings: Record<string, unknown> = {}): Logger {
  const base = { pid: process.pid, ...bindings };
  if (format === 'pretty') {
    // pino-pretty reads pino's own numeric levels and epoch timestamps, so no formatters here.
    return pino(
      { level, base },
      PinoPretty({
        colorize: process.stdout.isTTY === true,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname',
        singleLine: true,
        sync: false,
      }),
    );
  }
  return pino(
    {
      level,
      base,
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination({ dest: 1, sync: false }),
  );
}
