import { CliError } from './errors.ts';

/** Raised when an admin API call fails; the message is what the operator sees. */
export class AdminClientError extends CliError {
  override readonly code = 'ENDURE_ADMIN_REQUEST_FAILED';
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AdminClientError';
  }
}

/** A minimal client of the admin API, used by the operator commands. */
export class AdminClient {
  private readonly base: string;
  private readonly token: string | undefined;

  /** `token`: the bearer token sent with every request, for an admin API with auth. */
  constructor(baseUrl: string, token?: string) {
    this.base = baseUrl.replace(/\/+$/, '');
    this.token = token;
  }

  /**
   * Sends a request and returns the parsed JSON body (undefined for an empty body); with
   * `accept` set to a binary media type, the body's bytes.
   */
  async request(method: string, path: string, body?: unknown, options: { accept?: string } = {}): Promise<unknown> {
    const url = `${this.base}${path}`;
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (options.accept !== undefined) headers.accept = options.accept;
    let res: Response;
    try {
      if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
      res = await fetch(url, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      const reason = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
      throw new AdminClientError(`cannot reach the admin API at ${this.base}: ${reason}`, undefined, { cause: err });
    }
    if (res.ok && options.accept !== undefined && !options.accept.includes('json')) {
      return new Uint8Array(await res.arrayBuffer());
    }
    const text = await res.text();
    let parsed: unknown;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (!res.ok) {
      const message =
        parsed !== null && typeof parsed === 'object' && 'message' in parsed && typeof parsed.message === 'string'
          ? parsed.message
          : text || res.statusText;
      const hint =
        res.status === 401
          ? this.token === undefined
            ? ' (pass a token with --admin-token or ENDURE_ADMIN_TOKEN)'
            : ' (the token given with --admin-token or ENDURE_ADMIN_TOKEN was refused)'
          : '';
      throw new AdminClientError(`${method} ${path} failed with ${res.status}: ${message}${hint}`, res.status);
    }
    return parsed;
  }
}
