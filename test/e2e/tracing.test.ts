// OpenTelemetry traces: a server started with a tracing endpoint exports, over OTLP/HTTP, one
// trace per call tree — invocation spans, attempt spans, and spans for steps, sleeps, calls
// and sends, the callee's invocation under the caller's call — continuing the ingress
// request's traceparent, which also reaches the services.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  TARGET,
  call,
  eventually,
  killAllStarted,
  register,
  startEndure,
  startServices,
  type EndureProcess,
  type ServicesProcess,
} from "../harness/index.ts";

/** One exported span, as OTLP/JSON writes it. */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: { key: string; value: { stringValue?: string; intValue?: string | number; boolValue?: boolean } }[];
  status?: { code?: number; message?: string };
}

/** A minimal OTLP/HTTP (JSON) trace receiver. */
class Receiver {
  readonly spans: OtlpSpan[] = [];
  readonly resources: Record<string, unknown>[] = [];
  #server: Server | undefined;
  url = "";

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        let body = Buffer.concat(chunks);
        if (req.headers["content-encoding"] === "gzip") body = gunzipSync(body);
        if (req.url !== "/v1/traces" || !String(req.headers["content-type"]).startsWith("application/json")) {
          res.writeHead(415).end();
          return;
        }
        const payload = JSON.parse(body.toString("utf8")) as {
          resourceSpans: { resource?: { attributes?: unknown[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
        };
        for (const rs of payload.resourceSpans) {
          this.resources.push({ attributes: rs.resource?.attributes });
          for (const ss of rs.scopeSpans) this.spans.push(...ss.spans);
        }
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  inTrace(traceId: string): OtlpSpan[] {
    return this.spans.filter((s) => s.traceId === traceId);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}

const receiver = new Receiver();
let endure: EndureProcess;
let services: ServicesProcess;

beforeAll(async () => {
  if (TARGET !== "endure") return;
  await receiver.start();
  services = await startServices("test/services/traced.ts");
  endure = await startEndure({ env: { ENDURE_TRACING_ENDPOINT: receiver.url } });
  await register(endure.adminUrl, services.url);
});

afterAll(async () => {
  await endure?.stop();
  await services?.stop();
  await killAllStarted();
  await receiver.stop();
});

const hex = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join("");

function attr(span: OtlpSpan, key: string): unknown {
  const a = span.attributes?.find((x) => x.key === key);
  return a?.value.stringValue ?? a?.value.intValue ?? a?.value.boolValue;
}

interface Seen {
  input: string | undefined;
  attempt: string | undefined;
}

/** Waits until the trace holds the spans `ready` asks for. */
async function trace(traceId: string, ready: (spans: OtlpSpan[]) => boolean): Promise<OtlpSpan[]> {
  return eventually(async () => {
    const spans = receiver.inTrace(traceId);
    return ready(spans) ? spans : undefined;
  }, 15_000, `the spans of trace ${traceId}`);
}

describe.skipIf(TARGET !== "endure")("traces of a call tree", () => {
  it("continues the ingress traceparent through attempts, steps, sleeps, calls and sends", async () => {
    const traceId = hex(32);
    const clientSpan = hex(16);
    const res = await call(endure.ingressUrl, "/TracedRoot/root", undefined, { traceparent: `00-${traceId}-${clientSpan}-01` });
    expect(res.status, res.text).toBe(200);
    const seen = res.json as { root: Seen; leaf: Seen };

    const spans = await trace(traceId, (s) => s.filter((x) => x.name === "invoke TracedLeaf/leaf").length === 2 && s.some((x) => x.name === "invoke TracedRoot/root"));
    const byName = (name: string) => spans.filter((s) => s.name === name);
    const one = (name: string) => {
      const found = byName(name);
      expect(found, `${name} in ${spans.map((s) => s.name).join(", ")}`).toHaveLength(1);
      return found[0]!;
    };

    // The root invocation hangs under the client's span; its attempts under the invocation.
    const rootInvocation = one("invoke TracedRoot/root");
    expect(rootInvocation.parentSpanId).toBe(clientSpan);
    expect(attr(rootInvocation, "restate.invocation.id")).toBe(res.headers.get("x-restate-id"));
    const rootAttempts = byName("attempt TracedRoot/root");
    expect(rootAttempts.length).toBeGreaterThanOrEqual(1);
    for (const a of rootAttempts) expect(a.parentSpanId).toBe(rootInvocation.spanId);
    const rootAttemptIds = new Set(rootAttempts.map((a) => a.spanId));

    // Steps, sleeps, calls and sends are children of an attempt of the root.
    const prepare = one("run prepare");
    const sleep = one("sleep");
    const callSpan = one("call TracedLeaf/leaf");
    const sendSpan = one("send TracedLeaf/leaf");
    for (const s of [prepare, sleep, callSpan, sendSpan]) expect(rootAttemptIds.has(s.parentSpanId!), s.name).toBe(true);
    // The sleep lasts from its command reaching the server until its wake-up time (the SDK
    // set it 50 ms after the handler slept).
    const wakeUpMs = Date.parse(String(attr(sleep, "endure.sleep.wake_up_time")));
    expect(Number(BigInt(sleep.endTimeUnixNano) / 1_000_000n)).toBe(wakeUpMs);
    const sleptNs = BigInt(sleep.endTimeUnixNano) - BigInt(sleep.startTimeUnixNano);
    expect(sleptNs).toBeGreaterThan(0n);
    expect(sleptNs).toBeLessThanOrEqual(50_000_000n);

    // Each callee's invocation hangs under the call or send that created it.
    const leafInvocations = byName("invoke TracedLeaf/leaf");
    expect(leafInvocations.map((s) => s.parentSpanId).sort()).toEqual([callSpan.spanId, sendSpan.spanId].sort());
    const called = leafInvocations.find((s) => s.parentSpanId === callSpan.spanId)!;
    const leafAttempts = byName("attempt TracedLeaf/leaf").filter((a) => a.parentSpanId === called.spanId);
    expect(leafAttempts.length).toBeGreaterThanOrEqual(1);
    const leafSteps = byName("run leaf step").filter((s) => leafAttempts.some((a) => a.spanId === s.parentSpanId));
    expect(leafSteps).toHaveLength(1);

    // The services got the trace context: the root its client's, the leaf the call's, and each
    // attempt its own span's in the request headers.
    expect(seen.root.input).toBe(`00-${traceId}-${clientSpan}-01`);
    expect(seen.leaf.input).toBe(`00-${traceId}-${callSpan.spanId}-01`);
    expect(rootAttempts.map((a) => `00-${traceId}-${a.spanId}-01`)).toContain(seen.root.attempt);
    expect(leafAttempts.map((a) => `00-${traceId}-${a.spanId}-01`)).toContain(seen.leaf.attempt);

    // The exporter names the service.
    expect(JSON.stringify(receiver.resources)).toContain('"endure"');
  });

  it("starts a trace of its own for a request without traceparent", async () => {
    const res = await call(endure.ingressUrl, "/TracedLeaf/leaf");
    expect(res.status, res.text).toBe(200);
    const id = res.headers.get("x-restate-id")!;
    const seen = res.json as Seen;
    expect(seen.input).toBeUndefined();
    const invocation = await eventually(
      async () => receiver.spans.find((s) => s.name === "invoke TracedLeaf/leaf" && attr(s, "restate.invocation.id") === id),
      15_000,
      "the invocation span",
    );
    expect(invocation.parentSpanId ?? "").toBe("");
    const spans = await trace(invocation.traceId, (s) => s.some((x) => x.name === "run leaf step"));
    const attempts = spans.filter((s) => s.name === "attempt TracedLeaf/leaf");
    expect(attempts.length).toBeGreaterThanOrEqual(1);
    for (const a of attempts) expect(a.parentSpanId).toBe(invocation.spanId);
    expect(attempts.map((a) => `00-${invocation.traceId}-${a.spanId}-01`)).toContain(seen.attempt);
  });
});
