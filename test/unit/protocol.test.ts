// The SDK needs Promise.withResolvers (Node 22+); install it before the SDK is loaded.
(Promise as unknown as { withResolvers?: unknown }).withResolvers ??= function withResolvers<T>(this: PromiseConstructor) {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new this<T>((a, b) => {
    resolve = a;
    reject = b;
  });
  return { promise, resolve, reject };
};

import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createHttp2Server } from 'node:http2';
import type { Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DiscoveryError,
  DiscoveryErrorCode,
  FrameDecoder,
  MessageType,
  ProtocolError,
  ProtocolErrorCode,
  REQUESTED_ACK_FLAG,
  TransportError,
  TransportErrorCode,
  closeAllSessions,
  contentTypeFor,
  decodeFrame,
  decodeMessage,
  discoverEndpoint,
  encodeFrame,
  encodeMessage,
  encodeMessageFrame,
  invokeUrl,
  isCommand,
  isCustomEntry,
  isJournaledCommand,
  isNotification,
  messageTypeName,
  negotiateVersion,
  openInvocationStream,
  pb,
  schemaForType,
  versionOfContentType,
  type Frame,
  type InvocationStreamOptions,
} from '../../src/protocol/index.ts';

const bytes = (...xs: number[]) => new Uint8Array(xs);

describe('framing', () => {
  it('writes an 8-byte big-endian header: type, flags, length', () => {
    const frame = encodeFrame(0x0401, bytes(1, 2, 3), REQUESTED_ACK_FLAG);
    expect([...frame]).toEqual([0x04, 0x01, 0x80, 0x00, 0, 0, 0, 3, 1, 2, 3]);
  });

  it('decodes several frames from one chunk, keeping type, flags and body', () => {
    const stream = concat(encodeFrame(0x0000, bytes(9)), encodeFrame(0x0005, bytes(), REQUESTED_ACK_FLAG), encodeFrame(0xfc01, bytes(7, 7)));
    const frames = new FrameDecoder().push(stream);
    expect(frames).toEqual([
      { type: 0x0000, flags: 0, body: bytes(9) },
      { type: 0x0005, flags: REQUESTED_ACK_FLAG, body: bytes() },
      { type: 0xfc01, flags: 0, body: bytes(7, 7) },
    ]);
  });

  it('reassembles frames whatever the chunk boundaries', () => {
    const body = new Uint8Array(1000).map((_, i) => i % 251);
    const stream = concat(encodeFrame(0x0400, body), encodeFrame(0x0003, bytes()), encodeFrame(0x8011, bytes(1, 2)));
    for (const size of [1, 2, 3, 7, 8, 9, 100, 1007, 1008, 4096]) {
      const decoder = new FrameDecoder();
      const frames: Frame[] = [];
      for (let i = 0; i < stream.length; i += size) frames.push(...decoder.push(stream.subarray(i, i + size)));
      expect(frames.map((f) => f.type)).toEqual([0x0400, 0x0003, 0x8011]);
      expect(frames[0]?.body).toEqual(body);
      expect(frames[2]?.body).toEqual(bytes(1, 2));
      expect(decoder.pending).toBe(0);
    }
  });

  it('keeps an incomplete frame pending until the rest arrives', () => {
    const frame = encodeFrame(0x0401, bytes(1, 2, 3, 4));
    const decoder = new FrameDecoder();
    expect(decoder.push(frame.subarray(0, 10))).toEqual([]);
    expect(decoder.pending).toBe(10);
    expect(decoder.push(frame.subarray(10))).toEqual([{ type: 0x0401, flags: 0, body: bytes(1, 2, 3, 4) }]);
  });

  it('bodies are copies that later chunks cannot change', () => {
    const chunk = encodeFrame(0x0401, bytes(5, 6));
    const [frame] = new FrameDecoder().push(chunk);
    chunk.fill(0);
    expect(frame?.body).toEqual(bytes(5, 6));
  });

  it('refuses a frame above the size limit as soon as its header is read', () => {
    const decoder = new FrameDecoder({ maxFrameBytes: 16 });
    const header = encodeFrame(0x0400, new Uint8Array(17)).subarray(0, 8);
    const err = catchError(() => decoder.push(header));
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe(ProtocolErrorCode.FrameTooLarge);
  });

  it('classifies commands, notifications and custom entries by type code', () => {
    expect(isCommand(MessageType.InputCommand)).toBe(true);
    expect(isCommand(MessageType.CompleteAwakeableCommand)).toBe(true);
    expect(isCommand(MessageType.Start)).toBe(false);
    expect(isCommand(MessageType.SleepCompletionNotification)).toBe(false);
    expect(isNotification(MessageType.SleepCompletionNotification)).toBe(true);
    expect(isNotification(MessageType.SignalNotification)).toBe(true);
    expect(isNotification(MessageType.End)).toBe(false);
    expect(isCustomEntry(0xfc00)).toBe(true);
    expect(isCustomEntry(0xffff)).toBe(true);
    expect(isCommand(0xfc05)).toBe(true);
    expect(isNotification(0xfc05)).toBe(false);
    expect(isCustomEntry(MessageType.SignalNotification)).toBe(false);
  });

  it('journals only the command types the protocol defines, and custom entries', () => {
    expect(isJournaledCommand(MessageType.SetStateCommand)).toBe(true);
    expect(isJournaledCommand(0xfc05)).toBe(true);
    expect(isJournaledCommand(0x040f)).toBe(false); // a gap in the command range
    expect(isJournaledCommand(0x0415)).toBe(false);
    expect(isJournaledCommand(0x7fff)).toBe(false);
    expect(isJournaledCommand(MessageType.End)).toBe(false);
    expect(isJournaledCommand(MessageType.SleepCompletionNotification)).toBe(false);
  });
});

describe('messages', () => {
  it('every message type code has a schema, custom entries none', () => {
    for (const [name, code] of Object.entries(MessageType)) {
      const schema = schemaForType(code);
      expect(schema, name).toBeDefined();
      expect(schema?.typeName).toBe(`endure.protocol.${name}Message`);
      expect(messageTypeName(code)).toBe(name);
    }
    expect(schemaForType(0xfc01)).toBeUndefined();
    expect(messageTypeName(0xfc01)).toBe('0xfc01');
  });

  it('encodes and decodes a StartMessage', () => {
    const id = new Uint8Array(24).fill(3);
    const body = encodeMessage(pb.StartMessageSchema, {
      id,
      debugId: 'inv_test',
      knownEntries: 2,
      stateMap: [{ key: bytes(1), value: bytes(2) }],
      key: 'alice',
      randomSeed: 42n,
    });
    const msg = decodeMessage(pb.StartMessageSchema, body);
    expect(msg.id).toEqual(id);
    expect(msg.debugId).toBe('inv_test');
    expect(msg.knownEntries).toBe(2);
    expect(msg.stateMap[0]?.value).toEqual(bytes(2));
    expect(msg.randomSeed).toBe(42n);
  });

  it('decodes a frame by its type code', () => {
    const frame = encodeMessageFrame(MessageType.OutputCommand, { result: { case: 'value', value: { content: bytes(1) } } });
    const [decoded] = new FrameDecoder().push(frame);
    const msg = decodeFrame(decoded as Frame & { type: typeof MessageType.OutputCommand });
    expect(msg.result.case).toBe('value');
    expect(msg.result.value).toEqual(expect.objectContaining({ content: bytes(1) }));
  });

  it('one suspension decoder reads both the V5/V6 lists and the V7 future', () => {
    const v6 = decodeMessage(pb.SuspensionMessageSchema, encodeMessage(pb.SuspensionMessageSchema, { waitingCompletions: [1, 4], waitingSignals: [17], waitingNamedSignals: ['go'] }));
    expect(v6.waitingCompletions).toEqual([1, 4]);
    expect(v6.waitingSignals).toEqual([17]);
    expect(v6.waitingNamedSignals).toEqual(['go']);
    const v7 = decodeMessage(pb.SuspensionMessageSchema, encodeMessage(pb.SuspensionMessageSchema, { awaitingOn: { waitingCompletions: [2], combinatorType: pb.CombinatorType.FIRST_COMPLETED } }));
    expect(v7.awaitingOn?.waitingCompletions).toEqual([2]);
    expect(v7.waitingCompletions).toEqual([]);
  });

  it('matches the published wire format byte for byte', () => {
    // SleepCommandMessage{wake_up_time=1 (field 1), result_completion_id=2 (field 11), name="s" (field 12)}
    const body = encodeMessage(pb.SleepCommandMessageSchema, { wakeUpTime: 1n, resultCompletionId: 2, name: 's' });
    expect([...body]).toEqual([0x08, 0x01, 0x58, 0x02, 0x62, 0x01, 0x73]);
  });

  it('an undecodable body is a ProtocolError; so is decoding a custom entry', () => {
    const bad = catchError(() => decodeMessage(pb.StartMessageSchema, bytes(0x0a, 0x05, 1)));
    expect(bad).toBeInstanceOf(ProtocolError);
    expect((bad as ProtocolError).code).toBe(ProtocolErrorCode.BadMessage);
    const custom = catchError(() => decodeFrame({ type: 0xfc01, flags: 0, body: bytes() }));
    expect((custom as ProtocolError).code).toBe(ProtocolErrorCode.UnknownMessage);
  });
});

describe('versions', () => {
  it('negotiates the highest common version', () => {
    expect(negotiateVersion(5, 7)).toBe(7);
    expect(negotiateVersion(5, 6)).toBe(6);
    expect(negotiateVersion(1, 5)).toBe(5);
    expect(negotiateVersion(6, 6)).toBe(6);
    expect(negotiateVersion(7, 9)).toBe(7);
    const err = catchError(() => negotiateVersion(1, 4));
    expect((err as ProtocolError).code).toBe(ProtocolErrorCode.NoCommonVersion);
    expect(() => negotiateVersion(8, 9)).toThrow(ProtocolError);
  });

  it('names versions by content type', () => {
    expect(contentTypeFor(5)).toBe('application/vnd.restate.invocation.v5');
    expect(versionOfContentType('application/vnd.restate.invocation.v6')).toBe(6);
    expect(versionOfContentType('Application/Vnd.Restate.Invocation.V6; charset=x')).toBe(6);
    expect(versionOfContentType('application/json')).toBeUndefined();
  });

  it('joins the invoke URL under a path prefix and escapes names', () => {
    expect(invokeUrl('http://127.0.0.1:9080', 'Greeter', 'greet').href).toBe('http://127.0.0.1:9080/invoke/Greeter/greet');
    expect(invokeUrl('http://h:1/base/', 'a b', 'c/d').href).toBe('http://h:1/base/invoke/a%20b/c%2Fd');
  });
});

describe('against the official SDK', () => {
  let h2Server: Http2Server;
  let h2Url: string;
  let h1Server: Server;
  let h1Url: string;

  beforeAll(async () => {
    const restate = await import('@restatedev/restate-sdk');
    const reverser = restate.service({
      name: 'Reverser',
      handlers: { reverse: async (_ctx: unknown, s: string) => [...s].reverse().join('') },
    });
    const counter = restate.object({
      name: 'Counter',
      handlers: { get: restate.handlers.object.shared(async () => 0) },
    });
    h2Server = createHttp2Server(restate.createEndpointHandler({ services: [reverser, counter], logger: () => undefined }));
    await new Promise<void>((resolve) => h2Server.listen(0, '127.0.0.1', resolve));
    h2Url = `http://127.0.0.1:${(h2Server.address() as AddressInfo).port}`;
    h1Server = createServer(restate.createEndpointHandler({ services: [reverser], logger: () => undefined }));
    await new Promise<void>((resolve) => h1Server.listen(0, '127.0.0.1', resolve));
    h1Url = `http://127.0.0.1:${(h1Server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    closeAllSessions();
    await new Promise<void>((resolve) => (h2Server ? h2Server.close(() => resolve()) : resolve()));
    h1Server?.closeAllConnections();
    await new Promise<void>((resolve) => (h1Server ? h1Server.close(() => resolve()) : resolve()));
  });

  it('discovers the endpoint over HTTP/2', async () => {
    const m = await discoverEndpoint(h2Url);
    expect(m.protocolMode).toBe('BIDI_STREAM');
    expect(m.minProtocolVersion).toBeLessThanOrEqual(5);
    expect(m.maxProtocolVersion).toBeGreaterThanOrEqual(6);
    const reverser = m.services.find((s) => s.name === 'Reverser');
    expect(reverser?.ty).toBe('SERVICE');
    expect(reverser?.handlers.map((h) => h.name)).toEqual(['reverse']);
    expect(reverser?.handlers[0]?.input?.contentType).toBe('application/json');
    const counter = m.services.find((s) => s.name === 'Counter');
    expect(counter?.ty).toBe('VIRTUAL_OBJECT');
    expect(counter?.handlers[0]?.ty).toBe('SHARED');
  });

  it('discovers an HTTP/1.1 endpoint with useHttp11, and says so without it', async () => {
    const m = await discoverEndpoint(h1Url, { useHttp11: true });
    expect(m.protocolMode).toBe('REQUEST_RESPONSE');
    expect(m.services.map((s) => s.name)).toEqual(['Reverser']);
    const err = await discoverEndpoint(h1Url, { timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiscoveryError);
    expect((err as DiscoveryError).code).toBe(DiscoveryErrorCode.Http11Only);
    expect((err as DiscoveryError).restateCode).toBe('META0014');
  });

  it('reports an unreachable endpoint', async () => {
    const port = await closedPort();
    const err = await discoverEndpoint(`http://127.0.0.1:${port}`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiscoveryError);
    expect((err as DiscoveryError).code).toBe(DiscoveryErrorCode.Unreachable);
    expect((err as DiscoveryError).restateCode).toBe('META0003');
  });

  for (const protocolVersion of [5, 6]) {
    it(`runs a handler over an HTTP/2 bidi stream with protocol V${protocolVersion}`, async () => {
      const frames = await invokeReverse({ url: h2Url, protocolVersion, mode: 'bidi' }, 'hello');
      expect(outputOf(frames)).toBe('"olleh"');
    });
  }

  it('runs a handler in request/response mode over HTTP/2', async () => {
    const frames = await invokeReverse({ url: h2Url, protocolVersion: 6, mode: 'request-response' }, 'abc');
    expect(outputOf(frames)).toBe('"cba"');
  });

  it('runs a handler in request/response mode over HTTP/1.1', async () => {
    for (const protocolVersion of [5, 6]) {
      const frames = await invokeReverse({ url: h1Url, protocolVersion, mode: 'request-response', useHttp11: true }, 'xyz');
      expect(outputOf(frames)).toBe('"zyx"');
    }
  });

  it('multiplexes concurrent invocations over the pooled session', async () => {
    const words = Array.from({ length: 50 }, (_, i) => `word${i}`);
    const outputs = await Promise.all(words.map(async (w) => outputOf(await invokeReverse({ url: h2Url, protocolVersion: 6, mode: 'bidi' }, w))));
    expect(outputs).toEqual(words.map((w) => JSON.stringify([...w].reverse().join(''))));
  });

  it('a handler the endpoint does not know is a TransportError with the status and body', async () => {
    const stream = openInvocationStream({ url: h2Url, service: 'Reverser', handler: 'nope', protocolVersion: 6, mode: 'bidi' });
    stream.endInput();
    const err = await collect(stream.frames()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).code).toBe(TransportErrorCode.BadStatus);
    expect((err as TransportError).status).toBe(404);
  });

  it('an unreachable deployment is a TransportError', async () => {
    const port = await closedPort();
    for (const useHttp11 of [false, true]) {
      const stream = openInvocationStream({ url: `http://127.0.0.1:${port}`, service: 'S', handler: 'h', protocolVersion: 6, mode: 'request-response', useHttp11 });
      stream.endInput();
      const err = await collect(stream.frames()).catch((e: unknown) => e);
      expect((err as TransportError).code).toBe(TransportErrorCode.Unreachable);
    }
  });

  it('aborting a stream, directly or through its signal, ends frames() with Aborted', async () => {
    // Start announces one known entry but the input never comes: the SDK waits for it.
    const stream = openInvocationStream({ url: h2Url, service: 'Reverser', handler: 'reverse', protocolVersion: 6, mode: 'bidi' });
    stream.write(startFrame(1));
    const reading = collect(stream.frames()).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    stream.abort('test over');
    const err = await reading;
    expect((err as TransportError).code).toBe(TransportErrorCode.Aborted);

    const controller = new AbortController();
    const viaSignal = openInvocationStream({ url: h2Url, service: 'Reverser', handler: 'reverse', protocolVersion: 6, mode: 'bidi', signal: controller.signal });
    viaSignal.write(startFrame(1));
    const reading2 = collect(viaSignal.frames()).catch((e: unknown) => e);
    controller.abort('shutdown');
    expect(((await reading2) as TransportError).code).toBe(TransportErrorCode.Aborted);

    // The pooled session is still good afterwards.
    const frames = await invokeReverse({ url: h2Url, protocolVersion: 6, mode: 'bidi' }, 'ok');
    expect(outputOf(frames)).toBe('"ko"');
  });
});

// ---- helpers ----

function startFrame(knownEntries: number): Uint8Array {
  return encodeMessageFrame(MessageType.Start, {
    id: new Uint8Array(24).map((_, i) => i + 1),
    debugId: 'inv_test',
    knownEntries,
  });
}

async function invokeReverse(
  opts: Pick<InvocationStreamOptions, 'url' | 'protocolVersion' | 'mode' | 'useHttp11'>,
  input: string,
): Promise<Frame[]> {
  const stream = openInvocationStream({ ...opts, service: 'Reverser', handler: 'reverse' });
  stream.write(startFrame(1));
  stream.write(
    encodeMessageFrame(MessageType.InputCommand, {
      headers: [{ key: 'content-type', value: 'application/json' }],
      value: { content: new TextEncoder().encode(JSON.stringify(input)) },
    }),
  );
  stream.endInput();
  const frames = await collect(stream.frames());
  expect(frames.at(-1)?.type).toBe(MessageType.End);
  return frames;
}

function outputOf(frames: Frame[]): string {
  const out = frames.find((f) => f.type === MessageType.OutputCommand);
  if (!out) throw new Error(`no output among ${frames.map((f) => messageTypeName(f.type)).join(', ')}`);
  const msg = decodeFrame(out as Frame & { type: typeof MessageType.OutputCommand });
  if (msg.result.case !== 'value') throw new Error(`output is ${msg.result.case}`);
  return new TextDecoder().decode(msg.result.value.content);
}

async function collect(frames: AsyncIterable<Frame>): Promise<Frame[]> {
  const out: Frame[] = [];
  for await (const f of frames) out.push(f);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

/** A port nothing listens on: bind, read the port, close. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
