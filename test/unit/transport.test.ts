// The HTTP/2 transport against a raw HTTP/2 server written here: what Endure does when the
// deployment's side of the session misbehaves.
import { constants, createServer, type Http2Server, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MessageType,
  TransportError,
  TransportErrorCode,
  closeAllSessions,
  contentTypeFor,
  encodeFrame,
  encodeMessageFrame,
  openInvocationStream,
  type ByteBudget,
  type Frame,
} from '../../src/protocol/index.ts';
import { MemoryBudget } from '../../src/invoker/budget.ts';

let server: Http2Server | undefined;

afterEach(async () => {
  closeAllSessions();
  const s = server;
  server = undefined;
  if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
});

/** Starts a raw HTTP/2 server; `onStream` gets each stream and its index (0, 1, …). */
async function rawServer(onStream: (stream: ServerHttp2Stream, index: number) => void): Promise<{ url: string; sessions: () => number }> {
  let sessions = 0;
  let streams = 0;
  const s = createServer();
  s.on('session', () => sessions++);
  s.on('stream', (stream) => {
    stream.on('error', () => undefined);
    onStream(stream, streams++);
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  server = s;
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, sessions: () => sessions };
}

async function collect(frames: AsyncIterable<Frame>): Promise<Frame[]> {
  const out: Frame[] = [];
  for await (const f of frames) out.push(f);
  return out;
}

function invoke(url: string, budget?: ByteBudget) {
  const stream = openInvocationStream({ url, service: 'S', handler: 'h', protocolVersion: 6, mode: 'request-response', budget });
  stream.endInput();
  return collect(stream.frames());
}

describe('HTTP/2 sessions to a deployment', () => {
  it('a stream refused for lack of session memory retires the session; the next attempt connects anew', async () => {
    const { url, sessions } = await rawServer((stream, index) => {
      if (index === 0) {
        stream.close(constants.NGHTTP2_ENHANCE_YOUR_CALM);
        return;
      }
      stream.respond({ ':status': 200, 'content-type': contentTypeFor(6) });
      stream.end(encodeMessageFrame(MessageType.End, {}));
    });

    const err = await invoke(url).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).code).toBe(TransportErrorCode.Unreachable);

    const frames = await invoke(url);
    expect(frames.map((f) => f.type)).toEqual([MessageType.End]);
    expect(sessions()).toBe(2);
    expect((err as TransportError).message).toMatch(/ran out of memory.*ENHANCE_YOUR_CALM/);
  });
});

describe('the memory budget of invocation streams', () => {
  /** Output frames of `size` bytes each, then End, written in 1000-byte pieces. */
  async function trickling(sizes: number[]): Promise<string> {
    const { url } = await rawServer((stream) => {
      stream.respond({ ':status': 200, 'content-type': contentTypeFor(6) });
      const bytes = Buffer.concat([
        ...sizes.map((n) => encodeFrame(MessageType.OutputCommand, new Uint8Array(n))),
        encodeMessageFrame(MessageType.End, {}),
      ]);
      let at = 0;
      const next = () => {
        if (stream.destroyed) return;
        if (at >= bytes.length) return void stream.end();
        stream.write(bytes.subarray(at, at + 1000), next);
        at += 1000;
      };
      next();
    });
    return url;
  }

  it('bytes of frames still arriving are drawn from the budget and all given back', async () => {
    const budget = new MemoryBudget(64 * 1024);
    const url = await trickling([30_000, 5, 40_000]);
    const frames = await invoke(url, budget);
    expect(frames.map((f) => f.body.length)).toEqual([30_000, 5, 40_000, 0]);
    expect(budget.used).toBe(0);
  });

  it('a frame larger than what is left of the budget fails the stream with MemoryLimit, and gives its bytes back', async () => {
    const budget = new MemoryBudget(64 * 1024);
    expect(budget.tryReserve(30 * 1024)).toBe(true); // held by another stream
    const url = await trickling([40_000]);
    const err = await invoke(url, budget).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).code).toBe(TransportErrorCode.MemoryLimit);
    expect((err as TransportError).message).toMatch(/invocation memory limit of 65536 bytes is used up/);
    expect(budget.used).toBe(30 * 1024);
  });
});
