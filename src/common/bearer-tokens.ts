import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { unwatchFile, watchFile, type Stats } from 'node:fs';
import { ConfigError, MIN_TOKEN_LENGTH, parseTokens, type TokenSource } from '../config/index.ts';
import type { Logger } from './logger.ts';

/** How often a token file is checked for changes. */
const WATCH_INTERVAL_MS = 1000;

const digest = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

/**
 * The bearer tokens one listener accepts: those of its `ENDURE_*_TOKENS` variable plus those of
 * its token file. The file is re-read when it changes (polled, so an atomic rename is seen) and
 * on `reload()` (SIGHUP), so tokens rotate without a restart; a file that cannot be read or
 * holds a malformed token leaves the previous tokens in force. Tokens are kept as SHA-256
 * digests and compared in constant time, against every token, so neither the answer's timing
 * nor its path tells how much of a guess was right.
 */
export class BearerTokens {
  readonly #name: string;
  readonly #file: string | undefined;
  readonly #fixed: Buffer[];
  readonly #logger: Logger;
  #fromFile: Buffer[] = [];
  #watching = false;

  private constructor(name: string, source: TokenSource, logger: Logger) {
    this.#name = name;
    this.#file = source.tokenFile;
    this.#fixed = source.tokens.map(digest);
    this.#logger = logger;
  }

  /**
   * The tokens of `source`, or undefined when it names none (auth off). A token file that cannot
   * be read or is malformed at start-up is a ConfigError naming `flag`.
   */
  static async open(name: string, flag: string, source: TokenSource, logger: Logger): Promise<BearerTokens | undefined> {
    if (source.tokenFile === undefined && source.tokens.length === 0) return undefined;
    const tokens = new BearerTokens(name, source, logger);
    if (source.tokenFile !== undefined) {
      const read = await readTokenFile(source.tokenFile);
      if (typeof read === 'string') throw new ConfigError([`${flag}: ${read}`]);
      tokens.#fromFile = read;
      tokens.#watch(source.tokenFile);
    }
    if (tokens.#count() === 0) logger.warn({ listener: name }, `${name}: no bearer tokens configured; every request except health is refused`);
    return tokens;
  }

  /** Whether an `Authorization` header carries one of the tokens (`Bearer <token>`). */
  check(header: string | string[] | undefined): boolean {
    const value = Array.isArray(header) ? header[0] : header;
    const m = value === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(value);
    if (m === null) return false;
    const candidate = digest(m[1] as string);
    let ok = false;
    for (const token of [...this.#fixed, ...this.#fromFile]) ok = timingSafeEqual(candidate, token) || ok;
    return ok;
  }

  /** Re-reads the token file, if there is one; keeps the current tokens if it cannot. */
  async reload(): Promise<void> {
    if (this.#file === undefined) return;
    const read = await readTokenFile(this.#file);
    if (typeof read === 'string') {
      this.#logger.warn({ listener: this.#name, file: this.#file, reason: read }, `${this.#name}: cannot reload the token file; keeping the previous tokens`);
      return;
    }
    this.#fromFile = read;
    this.#logger.info({ listener: this.#name, file: this.#file, tokens: this.#count() }, `${this.#name}: bearer tokens reloaded`);
    if (this.#count() === 0) this.#logger.warn({ listener: this.#name }, `${this.#name}: no bearer tokens left; every request except health is refused`);
  }

  /** Stops watching the token file. */
  close(): void {
    if (this.#watching && this.#file !== undefined) unwatchFile(this.#file);
    this.#watching = false;
  }

  #count(): number {
    return this.#fixed.length + this.#fromFile.length;
  }

  #watch(file: string): void {
    this.#watching = true;
    watchFile(file, { interval: WATCH_INTERVAL_MS, persistent: false }, (curr: Stats, prev: Stats) => {
      if (curr.mtimeMs === prev.mtimeMs && curr.ino === prev.ino && curr.size === prev.size) return;
      void this.reload();
    });
  }
}

/** The digests of a token file's tokens, or why they cannot be read. */
async function readTokenFile(file: string): Promise<Buffer[] | string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return `cannot read the token file ${file} (${code ?? String(err)})`;
  }
  const tokens = parseTokens(text);
  if (tokens === undefined) {
    return `the token file ${file} holds a malformed token: each must be at least ${MIN_TOKEN_LENGTH} visible characters, one a line`;
  }
  return tokens.map(digest);
}
