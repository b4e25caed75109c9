import { TransportError, TransportErrorCode } from './errors.ts';
import { identityHeaders } from './identity.ts';
import { BaseStream, invokeUrl, type InvocationStream, type InvocationStreamOptions } from './transport.ts';
import { contentTypeFor } from './version.ts';

/**
 * A fetch-style endpoint handler living in this process: what the SDK's
 * `createEndpointHandler({ services, bidirectional: true })` from `@restatedev/restate-sdk/fetch`
 * returns.
 */
export type FetchHandler = (request: Request) => Promise<Response>;

/** URL scheme of deployments served in-process (embedded mode). */
export const IN_PROCESS_SCHEME = 'inprocess:';

/** True for a deployment URL that names an in-process endpoint rather than a network address. */
export function isInProcessUrl(url: string): boolean {
  return url.startsWith(`${IN_PROCESS_SCHEME}//`);
}

/**
 * Opens an invocation stream to an in-process endpoint: no socket, no HTTP framing. Our frames
 * go into the Request's body stream as they are written, and the Response's body stream is cut
 * into frames exactly as a network response would be, so the invoker cannot tell the
 * difference. The handler runs bidirectionally whatever the deployment's mode: both sides are
 * in one process, and there is nothing to gain from buffering the input.
 */
export function openInProcessStream(handler: FetchHandler, opts: InvocationStreamOptions): InvocationStream {
  const url = invokeUrl(opts.url, opts.service, opts.handler);
  const contentType = contentTypeFor(opts.protocolVersion);
  const stream = new InProcessStream(url, opts.protocolVersion, handler, {
    ...(opts.headers ?? {}),
    ...identityHeaders(opts.identity, url.pathname),
    'content-type': contentType,
    accept: contentType,
  });
  // The invoker's memory limit holds in-process as over the network.
  stream.budget = opts.budget;
  const signal = opts.signal;
  if (signal) {
    const onAbort = () => stream.abort('aborted');
    if (signal.aborted) onAbort();
    else {
      signal.addEventListener('abort', onAbort, { once: true });
      stream.onSettled = () => signal.removeEventListener('abort', onAbort);
    }
  }
  return stream;
}

class InProcessStream extends BaseStream {
  #input: ReadableStreamDefaultController<Uint8Array> | undefined;
  #body: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #torn = false;
  /** The SDK stopped reading our input (it cancelled the request body): later frames are dropped. */
  #inputCancelled = false;

  constructor(url: URL, version: number, handler: FetchHandler, headers: Record<string, string>) {
    super(url, version);
    const input = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#input = controller;
      },
      cancel: () => {
        this.#inputCancelled = true;
      },
    });
    let request: Request;
    try {
      request = new Request(url.href, { method: 'POST', headers, body: input, duplex: 'half' } as RequestInit);
    } catch (err) {
      this.fail(new TransportError(TransportErrorCode.Unreachable, `cannot build the in-process request: ${errorText(err)}`, { cause: err }));
      return;
    }
    // The handler runs on a later tick: writes made before then are queued in the body stream.
    queueMicrotask(() => {
      // Through a promise chain, so that a handler throwing synchronously is a failure too.
      Promise.resolve(request).then(handler).then(
        (response) => this.#onResponse(response),
        (err: unknown) =>
          this.fail(new TransportError(TransportErrorCode.Unreachable, `the in-process endpoint failed: ${errorText(err)}`, { cause: err })),
      );
    });
  }

  #onResponse(response: Response): void {
    if (this.#torn) {
      void response.body?.cancel().catch(() => undefined);
      return;
    }
    const reader = response.body?.getReader();
    this.#body = reader;
    this.onResponseHead(response.status, response.headers.get('content-type') ?? '', chunksOf(reader));
  }

  write(frame: Uint8Array): void {
    if (this.inputEnded || this.#inputCancelled || !this.#input) return;
    try {
      this.#input.enqueue(frame);
    } catch {
      // The body stream is already closed or errored: like a write after the peer hung up.
      this.#inputCancelled = true;
    }
  }

  endInput(): void {
    if (this.inputEnded) return;
    this.inputEnded = true;
    try {
      this.#input?.close();
    } catch {
      // already closed or errored
    }
  }

  protected teardown(): void {
    this.#torn = true;
    try {
      this.#input?.error(new Error('invocation stream aborted'));
    } catch {
      // already closed
    }
    // Ends a pending read of the response at once: the SDK may have nothing more to say.
    void this.#body?.cancel(new Error('invocation stream aborted')).catch(() => undefined);
  }
}

async function* chunksOf(reader: ReadableStreamDefaultReader<Uint8Array> | undefined): AsyncGenerator<Uint8Array> {
  if (!reader) return;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    yield value;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
