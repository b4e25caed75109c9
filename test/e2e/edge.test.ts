// The edge of the server: what the ingress accepts on the wire and what it refuses.
import http2 from "node:http2";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TARGET, expectContinue, get, sleep, startEndure, startSuite, uid, type EndureProcess, type Suite } from "../harness/index.ts";

let suite: Suite;

beforeAll(async () => {
  suite = await startSuite();
});

afterAll(async () => {
  await suite?.stop();
});

// The bound and the wording are Endure's; the HTTP behaviour below holds for Restate too.
describe.skipIf(TARGET !== "endure")("delayed sends", () => {
  it("a delay beyond ten years is refused with 400 and schedules nothing", async () => {
    const key = uid("rec");
    for (const path of [
      `/Recorder/${key}/note/send?delay=100000000000000000000d`,
      `/Recorder/${key}/note/send?delay=3651d`,
      `/Recorder/${key}/note/send?delay=P4000D`,
      `/restate/send/Recorder/${key}/note?delay=100000000000000000000d`,
    ]) {
      const res = await suite.call(path, uid("note"));
      expect(res.status, path).toBe(400);
      expect(res.json, path).toMatchObject({ code: 400 });
      expect((res.json as { message: string }).message, path).toMatch(/at most 3650 days/);
    }
    expect((await suite.call(`/Recorder/${key}/count`)).json).toBe(0);
  });

  it("a malformed delay is refused with 400 and a message naming the accepted forms", async () => {
    const key = uid("rec");
    for (const delay of ["", "abc", "10", "-5s", "1e3s", "PT", "10 parsecs", "Infinity", "NaNs"]) {
      const res = await suite.call(`/Recorder/${key}/note/send?delay=${encodeURIComponent(delay)}`, uid("note"));
      expect(res.status, delay).toBe(400);
      expect((res.json as { message: string }).message, delay).toMatch(/bad delay query parameter.*ISO 8601/);
    }
    await sleep(200);
    expect((await suite.call(`/Recorder/${key}/count`)).json).toBe(0);
  });

  it("a delay of up to ten years is accepted", async () => {
    const res = await suite.call(`/Recorder/${uid("rec")}/note/send?delay=3650d`, uid("note"));
    expect(res.status).toBe(202);
  });
});

/** Sends `request` on a fresh socket to `url`'s port and returns what came back before close. */
function rawExchange(url: string, request: string, timeoutMs = 10_000): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(request));
    let received = "";
    socket.on("data", (b: Buffer) => {
      received += b.toString("latin1");
      if (/\r\n\r\n/.test(received) && /content-length: (\d+)/i.test(received)) {
        const length = Number(/content-length: (\d+)/i.exec(received)![1]);
        if (received.length >= received.indexOf("\r\n\r\n") + 4 + length) socket.end();
      }
    });
    socket.on("error", reject);
    socket.on("close", () => resolve(received));
    setTimeout(() => socket.destroy(new Error(`no answer within ${timeoutMs} ms; got ${JSON.stringify(received)}`)), timeoutMs).unref();
  });
}

/** One request over a prior-knowledge HTTP/2 cleartext session. */
function h2Request(url: string, path: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url);
    session.on("error", reject);
    const req = session.request({ ":method": "POST", ":path": path, "content-type": "application/json" });
    let status = 0;
    let text = "";
    req.on("response", (headers) => (status = Number(headers[":status"])));
    req.on("data", (b: Buffer) => (text += b.toString()));
    req.on("end", () => {
      session.close();
      resolve({ status, body: text });
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("HTTP versions and request targets", () => {
  it("the ingress answers prior-knowledge HTTP/2 cleartext and HTTP/1.1 on the same port", async () => {
    const h2 = await h2Request(suite.endure.ingressUrl, "/Echo/greet", JSON.stringify("Ada"));
    expect(h2.status, suite.logs()).toBe(200);
    expect(JSON.parse(h2.body)).toBe("Hello, Ada!");
    const h1 = await suite.call("/Echo/greet", "Grace");
    expect(h1.status).toBe(200);
    expect(h1.json).toBe("Hello, Grace!");
  });

  it("an absolute-form request target routes like its path", async () => {
    const { host } = new URL(suite.endure.ingressUrl);
    const body = JSON.stringify("Ada");
    const answer = await rawExchange(
      suite.endure.ingressUrl,
      `POST http://${host}/Echo/greet HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer).toContain('"Hello, Ada!"');
  });
});

describe.skipIf(TARGET !== "endure")("Expect: 100-continue", () => {
  it("a body declared over the limit is refused with 413 before the client is asked to send it", async () => {
    for (const [url, target] of [[suite.endure.ingressUrl, "/Echo/greet"], [suite.endure.adminUrl, "/deployments"]] as const) {
      const answer = await expectContinue(url, `POST ${target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 20000000\r\n`);
      expect(answer, url).toMatch(/^HTTP\/1\.1 413 /);
      expect(answer, url).not.toMatch(/100 Continue/);
    }
  });

  it("a body within the limit is asked for with 100 Continue and then served", async () => {
    const body = JSON.stringify("Ada");
    const { hostname, port } = new URL(suite.endure.ingressUrl);
    const answer = await new Promise<string>((resolve) => {
      let received = "";
      const socket = net.connect(Number(port), hostname, () =>
        socket.write(`POST /Echo/greet HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\nExpect: 100-continue\r\n\r\n`),
      );
      socket.on("data", (b: Buffer) => {
        const first = received === "";
        received += b.toString("latin1");
        if (first && /^HTTP\/1\.1 100 /.test(received)) socket.write(body);
      });
      socket.on("error", () => undefined);
      socket.on("close", () => resolve(received));
      setTimeout(() => socket.destroy(), 10_000).unref();
    });
    expect(answer).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
    expect(answer).toContain('"Hello, Ada!"');
  });
});

describe.skipIf(TARGET !== "endure")("clients that go away", () => {
  it("clients disconnecting mid-body log no error and no stack trace", async () => {
    const { hostname, port } = new URL(suite.endure.ingressUrl);
    for (let i = 0; i < 20; i++) {
      await new Promise<void>((resolve) => {
        const socket = net.connect(Number(port), hostname, () => {
          socket.write("POST /Echo/greet HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n\"abc");
          setTimeout(() => socket.destroy(), 20);
        });
        socket.on("error", () => undefined);
        socket.on("close", () => resolve());
      });
    }
    await sleep(300);
    expect((await suite.call("/Echo/greet", "still here")).status).toBe(200);
    expect(suite.endure.log).not.toMatch(/"level":"error"/);
    expect(suite.endure.log).not.toMatch(/\bat .*\.ts:\d+/);
  });
});

describe.skipIf(TARGET !== "endure")("connection limits and request timeouts", () => {
  let server: EndureProcess;

  beforeAll(async () => {
    server = await startEndure({
      partitions: 2,
      env: {
        ENDURE_INGRESS_MAX_CONNECTIONS: "10",
        ENDURE_ADMIN_MAX_CONNECTIONS: "10",
        ENDURE_REQUEST_HEADERS_TIMEOUT: "1s",
        ENDURE_REQUEST_READ_TIMEOUT: "2s",
      },
    });
  });

  afterAll(async () => {
    await server?.stop();
  });

  /** Opens `n` idle connections; resolves with the sockets and how many the server closed within `ms`. */
  async function idleConnections(url: string, n: number, ms: number): Promise<{ sockets: net.Socket[]; closed: () => number }> {
    const { hostname, port } = new URL(url);
    const sockets: net.Socket[] = [];
    let closed = 0;
    for (let i = 0; i < n; i++) {
      const socket = net.connect(Number(port), hostname);
      socket.on("error", () => undefined);
      socket.on("close", () => closed++);
      sockets.push(socket);
    }
    await sleep(ms);
    return { sockets, closed: () => closed };
  }

  for (const which of ["ingress", "admin"] as const) {
    it(`the ${which} closes connections beyond its limit at once, and idle ones after the headers timeout`, async () => {
      const url = which === "ingress" ? server.ingressUrl : server.adminUrl;
      const health = which === "ingress" ? `${url}/restate/health` : `${url}/health`;
      const started = Date.now();
      const flood = await idleConnections(url, 30, 300);
      expect(flood.closed()).toBeGreaterThanOrEqual(20);
      // The idle ones that got in hold no slot for longer than the headers timeout.
      await sleep(2500 - (Date.now() - started));
      expect(flood.closed()).toBe(30);
      expect((await get(health, 2000)).status).toBe(200);
      for (const s of flood.sockets) s.destroy();
    });

    it(`the ${which} answers 408 to a client that trickles its body, and closes the connection`, async () => {
      const url = which === "ingress" ? server.ingressUrl : server.adminUrl;
      const { hostname, port } = new URL(url);
      const started = Date.now();
      const answer = await new Promise<string>((resolve) => {
        const socket = net.connect(Number(port), hostname, () => {
          socket.write("POST /Echo/greet HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n\"");
        });
        const trickle = setInterval(() => socket.write("a"), 200);
        let received = "";
        socket.on("data", (b: Buffer) => (received += b.toString()));
        socket.on("error", () => undefined);
        socket.on("close", () => {
          clearInterval(trickle);
          resolve(received);
        });
      });
      const elapsed = Date.now() - started;
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      expect(elapsed).toBeLessThan(6000);
    }, 15_000);
  }

  it("the ingress closes a client that trickles its headers", async () => {
    const { hostname, port } = new URL(server.ingressUrl);
    const started = Date.now();
    await new Promise<void>((resolve) => {
      const socket = net.connect(Number(port), hostname, () => socket.write("POST /Echo/greet HTTP/1.1\r\nHost: x\r\n"));
      const trickle = setInterval(() => socket.write("X-A: b\r\n"), 200);
      socket.on("error", () => undefined);
      socket.on("close", () => {
        clearInterval(trickle);
        resolve();
      });
    });
    expect(Date.now() - started).toBeLessThan(5000);
  }, 15_000);

  it("the ingress resets an HTTP/2 stream whose body trickles past the read timeout", async () => {
    const session = http2.connect(server.ingressUrl);
    session.on("error", () => undefined);
    const started = Date.now();
    const status = await new Promise<number>((resolve) => {
      const req = session.request({ ":method": "POST", ":path": "/Echo/greet", "content-length": "1000" });
      const trickle = setInterval(() => req.write("a"), 200);
      let code = 0;
      req.on("response", (h) => (code = Number(h[":status"])));
      req.on("data", () => undefined);
      req.on("error", () => undefined);
      req.on("close", () => {
        clearInterval(trickle);
        resolve(code);
      });
    });
    session.destroy();
    expect(status).toBe(408);
    expect(Date.now() - started).toBeLessThan(6000);
  }, 15_000);
});
