// The in-process transport (embedded mode): frames go into the Request body of a fetch-style
// handler and come back from its Response body, with the same failures as the network
// transports. The handlers here play the SDK's part with plain web streams.
import { describe, expect, it } from 'vitest';
import {
  FrameDecoder,
  TransportError,
  TransportErrorCode,
  contentTypeFor,
  encodeFrame,
  openInProcessStream,
  type FetchHandler,
  type Frame,
  type InvocationStream,
} from '../../src/protocol/index.ts';

const VERSION = 5;
const CONTENT_TYPE = contentTypeFor(VERSION);
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

function open(handler: FetchHandler): InvocationStream {
  return openInProcessStream(handler, { url: 'inprocess://services', service: 'Svc', handler: 'run', protocolVersion: VERSION, mode: 'bidi' });
}

async function collect(stream: InvocationStream): Promise<Frame[]> {
  const out: Frame[] = [];
  for await (const f of stream.frames()) out.push(f);
  return out;
}

async function failure(p: Promise<unknown>): Promise<TransportError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof TransportError) return err;
    throw err;
  }
  throw new Error('expected a TransportError');
}

/** Echoes every frame it reads back with type + 100, as soon as it reads it. */
const echo: FetchHandler = async (request) => {
  const reader = request.body!.getReader();
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      const decoder = new FrameDecoder();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        for (const f of decoder.push(value)) controller.enqueue(encodeFrame(f.type + 100, f.body));
      }
      controller.close();
    },
  });
  return new Response(body, { status: 200, headers: { 'content-type': request.headers.get('content-type') ?? '' } });
};

describe('in-process invocation streams', () => {
  it('carry frames both ways, in order, with the path and content type of the protocol', async () => {
    let seen: { path: string; contentType: string | null } | undefined;
    const stream = open(async (request) => {
      seen = { path: new URL(request.url).pathname, contentType: request.headers.get('content-type') };
      return echo(request);
    });
    stream.write(encodeFrame(1, bytes('before the handler ran')));
    const frames = collect(stream);
    await new Promise((r) => setTimeout(r, 10));
    stream.write(encodeFrame(2, bytes('later')));
    stream.endInput();
    const got = await frames;
    expect(got.map((f) => [f.type, new TextDecoder().decode(f.body)])).toEqual([
      [101, 'before the handler ran'],
      [102, 'later'],
    ]);
    expect(seen).toEqual({ path: '/invoke/Svc/run', contentType: CONTENT_TYPE });
  });

  it('report a handler that throws, even synchronously, as unreachable', async () => {
    const sync = open((() => {
      throw new Error('boom');
    }) as unknown as FetchHandler);
    const err = await failure(collect(sync));
    expect(err.code).toBe(TransportErrorCode.Unreachable);
    expect(err.message).toMatch(/boom/);
    const rejected = open(async () => Promise.reject(new Error('nope')));
    expect((await failure(collect(rejected))).code).toBe(TransportErrorCode.Unreachable);
  });

  it('report a non-200 answer with its status and text, and another protocol version as such', async () => {
    const bad = open(async () => new Response('no such handler', { status: 404 }));
    const err = await failure(collect(bad));
    expect(err.code).toBe(TransportErrorCode.BadStatus);
    expect(err.message).toMatch(/404: no such handler/);
    const other = open(async () => new Response('', { status: 200, headers: { 'content-type': contentTypeFor(6) } }));
    expect((await failure(collect(other))).code).toBe(TransportErrorCode.BadContentType);
  });

  it('drop frames written after the handler stopped reading, without throwing', async () => {
    const stream = open(async (request) => {
      await request.body!.cancel();
      return new Response(Buffer.from(encodeFrame(7, bytes("done"))), { status: 200, headers: { 'content-type': CONTENT_TYPE } });
    });
    const frames = await collect(stream);
    expect(frames.map((f) => f.type)).toEqual([7]);
    expect(() => stream.write(encodeFrame(1, bytes('late')))).not.toThrow();
  });

  it('end a pending read at once when aborted', async () => {
    const stream = open(async () => new Response(new ReadableStream<Uint8Array>(), { status: 200, headers: { 'content-type': CONTENT_TYPE } }));
    const frames = collect(stream);
    await new Promise((r) => setTimeout(r, 10));
    stream.abort('shutting down');
    const err = await failure(frames);
    expect(err.code).toBe(TransportErrorCode.Aborted);
    expect(err.message).toMatch(/shutting down/);
  });
});
