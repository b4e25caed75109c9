import type { Logger } from './logger.ts';

/** Levels a limited line can be logged at. */
type Level = 'debug' | 'info' | 'warn' | 'error';

interface Window {
  level: Level;
  msg: string;
  suppressed: number;
  timer: NodeJS.Timeout;
}

/** How many distinct keys are tracked at once; beyond it new keys share one window. */
const MAX_KEYS = 1000;
const OVERFLOW_KEY = '(other)';

/**
 * Rate-limits repeated log lines: the first line for a key is written, later ones within the
 * window are counted, and when the window closes one summary line says how many were
 * suppressed. A flood of identical errors (a client population misbehaving the same way) then
 * costs a line per window instead of a line per request.
 */
export class LogLimiter {
  readonly #logger: Logger;
  readonly #windowMs: number;
  readonly #windows = new Map<string, Window>();

  constructor(logger: Logger, windowMs = 10_000) {
    this.#logger = logger;
    this.#windowMs = windowMs;
  }

  /** Logs `msg` at `level` unless a line with the same key was logged within the window. */
  log(level: Level, key: string, obj: Record<string, unknown>, msg: string): void {
    if (!this.#logger.isLevelEnabled(level)) return;
    const k = this.#windows.has(key) || this.#windows.size < MAX_KEYS ? key : OVERFLOW_KEY;
    const open = this.#windows.get(k);
    if (open) {
      open.suppressed++;
      return;
    }
    this.#logger[level](obj, msg);
    const timer = setTimeout(() => this.#close(k), this.#windowMs);
    timer.unref();
    this.#windows.set(k, { level, msg, suppressed: 0, timer });
  }

  /** Writes the summaries of open windows now (at shutdown). */
  flush(): void {
    for (const key of [...this.#windows.keys()]) this.#close(key);
  }

  #close(key: string): void {
    const w = this.#windows.get(key);
    if (!w) return;
    clearTimeout(w.timer);
    this.#windows.delete(key);
    if (w.suppressed > 0) {
      this.#logger[w.level](
        { suppressed: w.suppressed, windowMs: this.#windowMs },
        `${w.msg} (repeated ${w.suppressed} more times in ${this.#windowMs >= 1000 ? `${Math.round(this.#windowMs / 1000)}s` : `${this.#windowMs}ms`})`,
      );
    }
  }
}
