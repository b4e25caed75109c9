#!/usr/bin/env node
// The hardening probe: attacks a real Endure process started from this checkout the way an
// attacker and a careless operator would (oversized bodies, discovery bombs and trickles, a
// full disk, damaged database files, connection floods, malformed HTTP/1.1 and HTTP/2, absurd
// delays, bad auth, garbage from a service, a frozen service, kill -9 under load) and checks
// after each that the server still serves, that health tells the truth, and that every
// acknowledged increment of a Counter is in its final value.
//
//   node scripts/probe.mjs            (about three minutes; loopback only; cleans up)
//
// It prints a PASS/FAIL table and exits non-zero if anything failed. It is not part of
// `npm test`: it is a few minutes of deliberate abuse, not a regression suite.
import { register as registerTsx } from "tsx/esm/api";
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync, writeSync, cpSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

registerTsx();
const { MessageType, encodeFrame, encodeMessageFrame } = await import("../src/protocol/index.ts");

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const WORK = mkdtempSync(path.join(os.tmpdir(), "endure-probe-"));
const IS_ROOT = process.getuid?.() === 0 && spawnSync("unshare", ["-m", "true"]).status === 0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = new Set();

// ---------------------------------------------------------------------------------------------
// Processes

async function freePort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

/** A child process with its output kept (the last 256 KiB) for the report. */
function launch(name, cmd, args, env = {}) {
  const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (d) => {
    output = (output + d.toString()).slice(-256 * 1024);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  children.add(child);
  exited.then(() => children.delete(child));
  return {
    name,
    child,
    exited,
    get pid() {
      return child.pid;
    },
    get output() {
      return output;
    },
    async kill(signal = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** One Endure server: a data directory, fixed ports, and the process currently running on them. */
class Endure {
  constructor(name, { dataDir, args = [], env = {}, tmpfs } = {}) {
    this.name = name;
    this.dataDir = dataDir ?? mkdtempSync(path.join(WORK, `${name}-`));
    this.args = args;
    this.env = env;
    this.tmpfs = tmpfs;
    this.proc = undefined;
  }

  async ports() {
    this.ingressPort ??= await freePort();
    this.adminPort ??= await freePort();
    this.ingressUrl = `http://127.0.0.1:${this.ingressPort}`;
    this.adminUrl = `http://127.0.0.1:${this.adminPort}`;
  }

  /** Starts the process; with `wait`, resolves once both health endpoints answer 200. */
  async start({ wait = true, extraArgs = [] } = {}) {
    await this.ports();
    const serverArgs = [path.join(ROOT, "bin", "endure.js"), "server", "--data-dir", this.dataDir,
      "--ingress-bind", `127.0.0.1:${this.ingressPort}`, "--admin-bind", `127.0.0.1:${this.adminPort}`,
      "--log-level", "warn", ...this.args, ...extraArgs];
    if (this.tmpfs) {
      // A private mount namespace with a small tmpfs over the data directory: the disk can be
      // filled without touching the machine's real disks.
      const script = 'mount -t tmpfs -o size="$1" endure-probe "$2" && shift 2 && exec "$@"';
      this.proc = launch(this.name, "unshare", ["-m", "--propagation", "private", "sh", "-c", script, "sh",
        this.tmpfs, this.dataDir, process.execPath, ...serverArgs], this.env);
      this.seenFromOutside = `/proc/${this.proc.pid}/root${this.dataDir}`;
    } else {
      this.proc = launch(this.name, process.execPath, serverArgs, this.env);
    }
    if (!wait) return;
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (this.proc.child.exitCode !== null) throw new Error(`${this.name} exited at start:\n${tail(this.proc.output)}`);
      const [a, i] = await Promise.all([status(`${this.adminUrl}/health`, 1000), status(`${this.ingressUrl}/restate/health`, 1000)]);
      if (a === 200 && i === 200) return;
      if (Date.now() > deadline) throw new Error(`${this.name} not healthy within 30 s:\n${tail(this.proc.output)}`);
      await sleep(200);
    }
  }
}

async function startServices() {
  const proc = launch("services", process.execPath, ["--import", "tsx", "examples/services.ts"], { PORT: "0" });
  const deadline = Date.now() + 30_000;
  while (!/listening on (\d+)/.test(proc.output)) {
    if (Date.now() > deadline || proc.child.exitCode !== null) throw new Error(`services did not start:\n${proc.output}`);
    await sleep(100);
  }
  proc.url = `http://127.0.0.1:${/listening on (\d+)/.exec(proc.output)[1]}`;
  return proc;
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers

function tail(text, n = 1500) {
  return text.length > n ? `…${text.slice(-n)}` : text;
}

async function request(url, { method = "GET", body, headers = {}, timeoutMs = 10_000 } = {}) {
  const res = await fetch(url, { method, body, headers, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

/** The status of a GET, or 0 when there is no answer in time. */
async function status(url, timeoutMs = 2000) {
  try {
    return (await request(url, { timeoutMs })).status;
  } catch {
    return 0;
  }
}

async function registerDeployment(server, uri) {
  const r = await request(`${server.adminUrl}/deployments`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ uri, force: true }),
    timeoutMs: 30_000,
  });
  if (r.status !== 201 && r.status !== 200) throw new Error(`register ${uri}: ${r.status} ${r.text}`);
  return r;
}

/**
 * What was sent to a Counter key and what was acknowledged. Every increment carries its own
 * idempotency key, so one whose answer was lost can be sent again until it is acknowledged,
 * and the final value must then equal the number of keys exactly.
 */
class Ledger {
  constructor(server, key) {
    this.server = server;
    this.key = key;
    this.keys = new Map();
    this.next = 0;
  }

  get acked() {
    return [...this.keys.values()].filter((s) => s === "acked").length;
  }

  /** Sends one increment; true when it was acknowledged (200, or 202 for a send). */
  async add({ timeoutMs = 10_000, body = "1", suffix = "" } = {}) {
    const key = `${this.key}-${this.next++}`;
    this.keys.set(key, "sent");
    return this.send(key, { timeoutMs, body, suffix });
  }

  async send(key, { timeoutMs = 10_000, body = "1", suffix = "" } = {}) {
    try {
      const r = await request(`${this.server.ingressUrl}/Counter/${this.key}/add${suffix}`, {
        method: "POST",
        body,
        headers: { "content-type": "application/json", "idempotency-key": key },
        timeoutMs,
      });
      if (r.status === 200 || r.status === 202) {
        this.keys.set(key, "acked");
        return true;
      }
      this.lastError = `${r.status} ${r.text.slice(0, 200)}`;
    } catch (err) {
      this.lastError = String(err);
    }
    return false;
  }

  /** Sends every unacknowledged increment again (same key) until all are acknowledged. */
  async settle(timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    let resent = 0;
    for (const [key, state] of this.keys) {
      if (state === "acked") continue;
      resent++;
      while (!(await this.send(key, { timeoutMs: 15_000 }))) {
        if (Date.now() > deadline) throw new Error(`increment ${key} never acknowledged: ${this.lastError}`);
        await sleep(250);
      }
    }
    return resent;
  }

  /** The Counter's value once every delayed send had time to land. */
  async value() {
    const r = await request(`${this.server.ingressUrl}/Counter/${this.key}/get`, { method: "POST", timeoutMs: 15_000 });
    if (r.status !== 200) throw new Error(`Counter get: ${r.status} ${r.text}`);
    return r.json;
  }
}

/** Health is 200 on both listeners and the example services answer normal calls. */
async function assertServing(server, ledger, what = "") {
  const [a, i] = await Promise.all([status(`${server.adminUrl}/health`, 3000), status(`${server.ingressUrl}/restate/health`, 3000)]);
  if (a !== 200 || i !== 200) throw new Error(`${what}health admin=${a} ingress=${i}`);
  const greet = await request(`${server.ingressUrl}/Greeter/greet`, {
    method: "POST", body: '"probe"', headers: { "content-type": "application/json" }, timeoutMs: 10_000,
  }).catch((err) => ({ status: 0, text: String(err) }));
  if (greet.status !== 200) throw new Error(`${what}Greeter/greet answered ${greet.status} ${greet.text}`);
  if (!(await ledger.add())) throw new Error(`${what}Counter/add not acknowledged: ${ledger.lastError}`);
}

/** Writes raw bytes to host:port and collects what comes back until close or `ms`. */
function rawExchange(port, payload, ms = 3000) {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let received = Buffer.alloc(0);
    let closedByServer = false;
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text: received.toString("latin1"), closedByServer });
    };
    const timer = setTimeout(done, ms);
    socket.on("connect", () => {
      for (const part of Array.isArray(payload) ? payload : [payload]) socket.write(part);
    });
    socket.on("data", (d) => (received = Buffer.concat([received, d]).subarray(0, 65536)));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      closedByServer = true;
      done();
    });
  });
}

// ---------------------------------------------------------------------------------------------
// The checks

const results = [];

/** Only the checks whose names match PROBE_ONLY (a regular expression) run, when it is set. */
const ONLY = process.env.PROBE_ONLY ? new RegExp(process.env.PROBE_ONLY, "i") : undefined;
/** Servers whose output is shown when a check fails. */
const watched = [];

async function check(name, fn, limitMs = 90_000) {
  if (ONLY && !ONLY.test(name) && !name.startsWith("nothing acknowledged")) return;
  const started = Date.now();
  process.stdout.write(`… ${name}\n`);
  let timer;
  try {
    const detail = await Promise.race([
      fn(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no result within ${limitMs / 1000} s`)), limitMs))),
    ]);
    results.push({ name, ok: true, detail: detail ?? "", ms: Date.now() - started });
  } catch (err) {
    results.push({ name, ok: false, detail: err instanceof Error ? err.message : String(err), ms: Date.now() - started });
  } finally {
    clearTimeout(timer);
  }
  const last = results.at(-1);
  process.stdout.write(`  ${last.ok ? "PASS" : "FAIL"} ${last.detail.split("\n")[0]}\n`);
  if (!last.ok) for (const s of watched) if (s.proc) process.stdout.write(`  ${s.name} server output:\n${tail(s.proc.output, 3000)}\n`);
}

function skip(name, why) {
  results.push({ name, ok: undefined, detail: why, ms: 0 });
  process.stdout.write(`… ${name}\n  SKIP ${why}\n`);
}

async function nearLimitBodies(server, ledger) {
  const seen = [];
  const t0 = Date.now();
  for (const size of [10_000_000, 10_240_000, 10_485_760]) {
    // A JSON string for the stateless service, a JSON number padded with spaces for the object.
    const greet = await request(`${server.ingressUrl}/Greeter/greet`, {
      method: "POST", body: `"${"a".repeat(size - 2)}"`, headers: { "content-type": "application/json" }, timeoutMs: 30_000,
    });
    if (greet.status !== 200 || greet.text.length < size) throw new Error(`Greeter/greet with ${size} bytes: ${greet.status} ${greet.text.slice(0, 200)}`);
    if (!(await ledger.add({ body: `${" ".repeat(size - 1)}1`, timeoutMs: 30_000 }))) {
      throw new Error(`Counter/add with a ${size}-byte body: ${ledger.lastError}`);
    }
    seen.push(size);
  }
  const over = await request(`${server.ingressUrl}/Greeter/greet`, {
    method: "POST", body: `"${"a".repeat(10_485_761 - 2)}"`, headers: { "content-type": "application/json" }, timeoutMs: 30_000,
  });
  if (over.status !== 413) throw new Error(`10,485,761 bytes got ${over.status}, expected 413`);
  // Then normal calls to the same deployment, quickly.
  const t1 = Date.now();
  for (let i = 0; i < 20; i++) await assertServing(server, ledger, "after big bodies: ");
  return `bodies of ${seen.map((s) => s.toLocaleString("en")).join(", ")} bytes → 200 (greet and add); 10,485,761 → 413; ` +
    `then 20 normal rounds in ${Date.now() - t1} ms (all ${Date.now() - t0} ms)`;
}

async function discoveryAbuse(server, ledger) {
  let bombBytes = 0;
  const trickleOpen = new Set();
  const endpoint = http.createServer((req, res) => {
    req.on("error", () => undefined);
    res.on("error", () => undefined);
    if (req.url.startsWith("/bomb")) {
      // 600 MiB of manifest that never parses, written as fast as Endure reads it.
      res.writeHead(200, { "content-type": "application/vnd.restate.endpointmanifest.v2+json" });
      const chunk = Buffer.alloc(1 << 20, 0x5b);
      const pump = () => {
        while (bombBytes < 600 * (1 << 20)) {
          bombBytes += chunk.length;
          if (!res.write(chunk)) return res.once("drain", pump);
        }
        res.end();
      };
      res.on("close", () => res.removeAllListeners("drain"));
      pump();
    } else if (req.url.startsWith("/trickle")) {
      res.writeHead(200, { "content-type": "application/vnd.restate.endpointmanifest.v2+json" });
      const timer = setInterval(() => res.write(" "), 2000);
      trickleOpen.add(timer);
      res.on("close", () => {
        clearInterval(timer);
        trickleOpen.delete(timer);
      });
    } else {
      res.writeHead(502, { "content-type": "text/html" });
      res.end(`<html><title>502 Bad Gateway</title><body>upstream failed; session=eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.s3cr3tS1gnature; Authorization: Bearer c0ffee00deadbeefc0ffee00deadbeef</body></html>`);
    }
  });
  await new Promise((r) => endpoint.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${endpoint.address().port}`;
  const reg = async (body) => {
    const t = Date.now();
    const r = await request(`${server.adminUrl}/deployments`, {
      method: "POST", headers: { "content-type": "application/json" }, body, timeoutMs: 30_000,
    });
    return { ...r, ms: Date.now() - t };
  };
  try {
    const before = (await request(`${server.adminUrl}/deployments`)).json?.deployments?.length;
    const notes = [];
    const h1 = (p) => JSON.stringify({ uri: `${base}${p}`, use_http_11: true });
    const [bomb, trickle] = await Promise.all([reg(h1("/bomb")), reg(h1("/trickle"))]);
    if (bomb.status !== 413) throw new Error(`discovery bomb: ${bomb.status} ${bomb.text.slice(0, 200)}`);
    notes.push(`bomb → 413 in ${bomb.ms} ms after ${(bombBytes / (1 << 20)).toFixed(0)} MiB written`);
    if (trickle.status < 400 || trickle.ms > 15_000) throw new Error(`trickle: ${trickle.status} after ${trickle.ms} ms`);
    notes.push(`trickle (1 byte/2 s) → ${trickle.status} in ${(trickle.ms / 1000).toFixed(1)} s`);
    const page = await reg(h1("/error"));
    if (page.status < 400 || /c0ffee00deadbeef|s3cr3tS1gnature|eyJhbGciOiJIUzI1NiJ9/.test(page.text)) {
      throw new Error(`error page: ${page.status} ${page.text}`);
    }
    notes.push(`error page → ${page.status}, credentials redacted`);
    const bad = [];
    for (const body of ["not json", "{}", JSON.stringify({ uri: "ftp://127.0.0.1/x" }), JSON.stringify({ uri: "http://127.0.0.1:1" }),
      JSON.stringify({ uri: `http://127.0.0.1:${server.adminPort}` }), JSON.stringify({ uri: "x".repeat(100_000) }), "[".repeat(100_000)]) {
      const r = await reg(body);
      if (r.status < 400 || r.status >= 600 || typeof r.json?.message !== "string") throw new Error(`register ${body.slice(0, 60)}: ${r.status} ${r.text.slice(0, 200)}`);
      bad.push(r.status);
    }
    notes.push(`7 malformed registrations → ${bad.join("/")}`);
    const after = (await request(`${server.adminUrl}/deployments`)).json?.deployments?.length;
    if (after !== before) throw new Error(`deployments changed from ${before} to ${after}`);
    await assertServing(server, ledger);
    return notes.join("; ");
  } finally {
    for (const t of trickleOpen) clearInterval(t);
    endpoint.closeAllConnections();
    endpoint.close();
  }
}

async function malformedHttp1(server, ledger) {
  const big = (n) => "a".repeat(n);
  const cases = {
    "garbage line": "GARBAGE\r\n\r\n",
    "random bytes": randomBytes(4096),
    "negative content-length": "POST /Greeter/greet HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    "two content-lengths": "POST /Greeter/greet HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n\"abc\"",
    "smuggling CL+TE": "POST /Greeter/greet HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\n\r\n",
    "bad chunk size": "POST /Greeter/greet HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    "100 KiB header": `GET /restate/health HTTP/1.1\r\nHost: x\r\nX-Big: ${big(100_000)}\r\n\r\n`,
    "5000 headers": `GET /restate/health HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 5000 }, (_, i) => `X-${i}: y\r\n`).join("")}\r\n`,
    "100 KiB URL": `GET /${big(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    "path traversal": "GET /../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
    "encoded traversal": "POST /Greeter/..%2f..%2fetc/greet HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    "HTTP/9.9": "GET /restate/health HTTP/9.9\r\nHost: x\r\n\r\n",
    "NUL in header": "GET /restate/health HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n",
    "declared 20 MB body": "POST /Greeter/greet HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 20000000\r\n\r\n\"",
    "expect 100-continue 20 MB": "POST /Greeter/greet HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 20000000\r\n\r\n",
    "invalid JSON to a handler": "POST /Greeter/greet HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n{{{{{",
    "unknown method": "BREW /Greeter/greet HTTP/1.1\r\nHost: x\r\n\r\n",
    "absolute form": "POST http://elsewhere.example/Greeter/greet HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 3\r\n\r\n\"a\"",
    "1000 pipelined": "GET /restate/health HTTP/1.1\r\nHost: x\r\n\r\n".repeat(1000),
    "h2c upgrade header": "GET /restate/health HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n",
  };
  const summary = [];
  for (const port of [server.ingressPort, server.adminPort]) {
    for (const [name, payload] of Object.entries(cases)) {
      const { text, closedByServer } = await rawExchange(port, payload, 2500);
      const code = /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1];
      if (code && /^5/.test(code) && code !== "501" && code !== "505") {
        throw new Error(`${name} on port ${port}: ${text.slice(0, 300)}`);
      }
      if (port === server.ingressPort) summary.push(`${name}: ${code ?? (closedByServer ? "closed" : "no answer")}`);
    }
    await assertServing(server, ledger, `after malformed HTTP/1.1 on ${port}: `);
  }
  return `${Object.keys(cases).length} cases × 2 listeners, no 5xx except 501/505; ingress: ${summary.join(", ")}`;
}

function h2Frame(type, flags, streamId, payload = Buffer.alloc(0)) {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header.writeUInt8(type, 3);
  header.writeUInt8(flags, 4);
  header.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([header, payload]);
}

async function malformedHttp2(server, ledger) {
  const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  const SETTINGS = h2Frame(4, 0, 0);
  const notes = [];
  const raw = {
    "preface + random bytes": Buffer.concat([PREFACE, randomBytes(8192)]),
    "window size 2^31": Buffer.concat([PREFACE, h2Frame(4, 0, 0, Buffer.from([0, 4, 0x80, 0, 0, 0]))]),
    "frame of 16 MiB declared": Buffer.concat([PREFACE, SETTINGS, Buffer.from([0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 1])]),
    "HEADERS with garbage HPACK": Buffer.concat([PREFACE, SETTINGS, h2Frame(1, 0x5, 1, randomBytes(300))]),
    "DATA on stream 0": Buffer.concat([PREFACE, SETTINGS, h2Frame(0, 1, 0, Buffer.from("x"))]),
    // CONTINUATION flood: one header block that never ends (CVE-2024-27316).
    "CONTINUATION flood 32 MiB": Buffer.concat([PREFACE, SETTINGS, h2Frame(1, 0x0, 1, Buffer.alloc(16_384, 0x40)),
      ...Array.from({ length: 2000 }, () => h2Frame(9, 0, 1, Buffer.alloc(16_384, 0x40)))]),
  };
  for (const [name, payload] of Object.entries(raw)) {
    const { closedByServer } = await rawExchange(server.ingressPort, payload, 2000);
    notes.push(`${name}: ${closedByServer ? "closed" : "held"}`);
  }
  await assertServing(server, ledger, "after raw HTTP/2 garbage: ");

  // Rapid reset (CVE-2023-44487): streams opened and reset before their request ended, 5000 in
  // one write. (Node's own client ends a stream before resetting it, which makes a complete
  // request; raw frames are the real attack.)
  const literal = (name, value) => Buffer.concat([Buffer.from([0, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)]);
  const block = Buffer.concat([literal(":method", "POST"), literal(":scheme", "http"), literal(":path", "/Greeter/greet"),
    literal(":authority", "probe"), literal("content-type", "application/json")]);
  const rst = Buffer.from([0, 0, 0, 8]);
  const frames = [PREFACE, SETTINGS];
  for (let i = 0; i < 5000; i++) frames.push(h2Frame(1, 0x4, 1 + 2 * i, block), h2Frame(3, 0, 1 + 2 * i, rst));
  const t0 = Date.now();
  const reset = rawExchange(server.ingressPort, Buffer.concat(frames), 3000);
  await sleep(300);
  const healthDuring = await status(`${server.ingressUrl}/restate/health`, 2000);
  const { closedByServer } = await reset;
  notes.push(`rapid reset: 5000 streams opened and reset (${closedByServer ? "connection closed by the server" : "connection held"}) in ${Date.now() - t0} ms, health ${healthDuring}`);

  // Many honest streams on one session, and a body over the limit on one stream.
  const s2 = http2.connect(server.ingressUrl);
  s2.on("error", () => undefined);
  const h2call = (p, body, timeoutMs = 15_000) =>
    new Promise((resolve) => {
      const s = s2.request({ ":method": "POST", ":path": p, "content-type": "application/json" });
      let st = 0;
      const timer = setTimeout(() => {
        s.close();
        resolve(0);
      }, timeoutMs);
      s.on("response", (h) => (st = h[":status"]));
      s.on("error", () => undefined);
      s.on("close", () => {
        clearTimeout(timer);
        resolve(st);
      });
      s.resume();
      s.end(body);
    });
  const statuses = await Promise.all(Array.from({ length: 200 }, (_, i) => h2call("/Greeter/greet", `"h2-${i}"`)));
  const ok = statuses.filter((x) => x === 200).length;
  const over = await h2call("/Greeter/greet", Buffer.alloc(11_000_000, 0x20));
  s2.destroy();
  notes.push(`200 concurrent h2c calls: ${ok} × 200; 11 MB h2c body: ${over}`);
  if (ok !== 200) throw new Error(`only ${ok} of 200 h2c calls answered 200; ${notes.join("; ")}`);
  if (over !== 413) throw new Error(`11 MB h2c body got ${over}; ${notes.join("; ")}`);
  if (healthDuring !== 200) throw new Error(`health during rapid reset: ${healthDuring}; ${notes.join("; ")}`);
  await assertServing(server, ledger, "after HTTP/2 abuse: ");
  return notes.join("; ");
}

async function burst(server, ledger) {
  // 2000 calls at once over four h2c sessions, while health is asked every 250 ms.
  const sessions = Array.from({ length: 4 }, () => http2.connect(server.ingressUrl));
  for (const s of sessions) s.on("error", () => undefined);
  const callOnce = (session, i) =>
    new Promise((resolve) => {
      const s = session.request({ ":method": "POST", ":path": "/Greeter/greet", "content-type": "application/json" });
      let st = 0;
      s.on("response", (h) => (st = h[":status"]));
      s.on("error", () => undefined);
      s.on("close", () => resolve(st));
      s.resume();
      s.end(`"burst-${i}"`);
    });
  const t0 = Date.now();
  let polling = true;
  const latencies = [];
  const poller = (async () => {
    while (polling) {
      const t = Date.now();
      const st = await status(`${server.adminUrl}/health`, 5000);
      latencies.push(st === 200 ? Date.now() - t : Infinity);
      await sleep(250);
    }
  })();
  const statuses = await Promise.all(Array.from({ length: 2000 }, (_, i) => callOnce(sessions[i % 4], i)));
  const ms = Date.now() - t0;
  polling = false;
  await poller;
  for (const s of sessions) s.destroy();
  const ok = statuses.filter((x) => x === 200).length;
  const worst = Math.max(...latencies);
  await assertServing(server, ledger, "after the burst: ");
  const detail = `${ok}/2000 answered 200 in ${(ms / 1000).toFixed(1)} s (${Math.round(2000 / (ms / 1000))}/s); admin health asked ${latencies.length}×, slowest ${worst} ms`;
  if (ok !== 2000 || !Number.isFinite(worst)) throw new Error(detail);
  return detail;
}

async function connectionFlood(server, ledger, maxConnections) {
  const open = (port, n) => {
    const sockets = [];
    let closed = 0;
    for (let i = 0; i < n; i++) {
      const s = net.connect(port, "127.0.0.1");
      s.on("error", () => undefined);
      s.on("close", () => closed++);
      sockets.push(s);
    }
    return { sockets, closed: () => closed };
  };
  // Below the cap: health must still answer at once.
  const below = open(server.ingressPort, maxConnections - 100);
  await sleep(1500);
  let t = Date.now();
  const hBelow = await status(`${server.ingressUrl}/restate/health`, 2000);
  const msBelow = Date.now() - t;
  // Past the cap: the extra ones are closed; the admin API is unaffected.
  const extra = open(server.ingressPort, 1000);
  // The server closes what it accepts past the cap; accepting 3900 connections takes a moment.
  for (const until = Date.now() + 6000; Date.now() < until && extra.closed() + below.closed() < 900; ) await sleep(250);
  t = Date.now();
  const hAdmin = await status(`${server.adminUrl}/health`, 2000);
  const msAdmin = Date.now() - t;
  const closedExtra = extra.closed() + below.closed();
  for (const s of [...below.sockets, ...extra.sockets]) s.destroy();
  await sleep(500);
  t = Date.now();
  await assertServing(server, ledger, "after the flood: ");
  const msAfter = Date.now() - t;
  const detail = `${maxConnections - 100} idle: ingress health ${hBelow} in ${msBelow} ms; +1000 past the cap of ${maxConnections}: ` +
    `${closedExtra} closed by the server, admin health ${hAdmin} in ${msAdmin} ms; after: served in ${msAfter} ms`;
  if (hBelow !== 200 || hAdmin !== 200 || closedExtra < 900) throw new Error(detail);
  return detail;
}

async function slowloris(server, ledger, headersTimeoutMs, readTimeoutMs) {
  const t0 = Date.now();
  const headerTricklers = [];
  const bodyTricklers = [];
  const trickle = (port, first, every) =>
    new Promise((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => s.write(first));
      let answer = "";
      const timer = setInterval(() => s.write(every), 1000);
      s.on("data", (d) => (answer += d.toString()));
      s.on("error", () => undefined);
      s.on("close", () => {
        clearInterval(timer);
        resolve({ answer, ms: Date.now() - t0 });
      });
      setTimeout(() => s.destroy(), 30_000);
    });
  for (let i = 0; i < 300; i++) headerTricklers.push(trickle(server.ingressPort, "POST /Greeter/greet HTTP/1.1\r\nHost: x\r\nX-a", "a"));
  for (let i = 0; i < 100; i++) {
    bodyTricklers.push(trickle(server.ingressPort,
      "POST /Greeter/greet HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n\"", "a"));
  }
  await sleep(1000);
  const during = await status(`${server.ingressUrl}/restate/health`, 2000);
  const headers = await Promise.all(headerTricklers);
  const bodies = await Promise.all(bodyTricklers);
  const maxHeaders = Math.max(...headers.map((h) => h.ms));
  const maxBodies = Math.max(...bodies.map((h) => h.ms));
  const got408 = bodies.filter((b) => /^HTTP\/1\.1 408/.test(b.answer)).length;
  await assertServing(server, ledger, "after slowloris: ");
  const detail = `300 header tricklers all cut by ${(maxHeaders / 1000).toFixed(1)} s (timeout ${headersTimeoutMs / 1000} s); ` +
    `100 body tricklers cut by ${(maxBodies / 1000).toFixed(1)} s (timeout ${readTimeoutMs / 1000} s), ${got408} with 408; health during: ${during}`;
  if (during !== 200 || maxHeaders > headersTimeoutMs + 4000 || maxBodies > readTimeoutMs + 4000 || got408 < 90) throw new Error(detail);
  return detail;
}

async function absurdDelays(server, ledger) {
  const bad = ["100000000000000000000d", "3651d", "-1s", "PT", "NaN", "1e400s", "P99999999Y", "10x", "%00", "1s; drop table", "9".repeat(500)];
  const got = [];
  for (const d of bad) {
    const r = await request(`${server.ingressUrl}/Counter/${ledger.key}/add/send?delay=${encodeURIComponent(d)}`, {
      method: "POST", body: "1000000", headers: { "content-type": "application/json" },
    });
    if (r.status !== 400 || typeof r.json?.message !== "string") throw new Error(`delay=${d.slice(0, 30)}: ${r.status} ${r.text}`);
    got.push(r.status);
  }
  // A sane delayed send is acknowledged with 202; it lands later and must be in the final count.
  if (!(await ledger.add({ suffix: "/send?delay=1500ms" }))) throw new Error(`delay=1500ms not accepted: ${ledger.lastError}`);
  if (!(await ledger.add({ suffix: "/send?delay=PT2S" }))) throw new Error(`delay=PT2S not accepted: ${ledger.lastError}`);
  await assertServing(server, ledger);
  return `${bad.length} absurd delays → 400 each (up to 100000000000000000000d, 3651d, -1s, 1e400s); 1500ms and PT2S → 202, counted`;
}

async function badAuth() {
  const token = randomBytes(24).toString("hex");
  const server = new Endure("auth", { env: { ENDURE_ADMIN_TOKENS: token, ENDURE_INGRESS_TOKENS: token } });
  await server.start();
  try {
    const attempts = {
      none: undefined,
      wrong: `Bearer ${randomBytes(24).toString("hex")}`,
      "prefix of the token": `Bearer ${token.slice(0, 20)}`,
      "token + suffix": `Bearer ${token}x`,
      "empty bearer": "Bearer ",
      basic: `Basic ${Buffer.from(`admin:${token}`).toString("base64")}`,
      "token without scheme": token,
      "64 KiB token": `Bearer ${"a".repeat(65_536)}`,
      "control characters": `Bearer ${token}\u0001`,
    };
    const notes = [];
    for (const [name, header] of Object.entries(attempts)) {
      for (const url of [`${server.adminUrl}/deployments`, `${server.ingressUrl}/Greeter/greet`]) {
        let r;
        try {
          r = await request(url, {
            method: url.includes("Greeter") ? "POST" : "GET",
            body: url.includes("Greeter") ? `"${"b".repeat(60_000)}"` : undefined,
            headers: header === undefined ? {} : { authorization: header },
          });
        } catch (err) {
          // fetch itself refuses some header values (control characters): nothing reached the server.
          if (name === "control characters") continue;
          throw err;
        }
        if (name === "64 KiB token" && r.status === 431) continue; // refused before auth: headers too large
        if (r.status !== 401 || r.json?.code !== 401) throw new Error(`${name} on ${url}: ${r.status} ${r.text.slice(0, 200)}`);
      }
      notes.push(name);
    }
    const ok = await request(`${server.adminUrl}/deployments`, { headers: { authorization: `Bearer ${token}` } });
    if (ok.status !== 200) throw new Error(`right token: ${ok.status}`);
    const health = [await status(`${server.adminUrl}/health`), await status(`${server.ingressUrl}/restate/health`)];
    if (health.some((h) => h !== 200)) throw new Error(`health without token: ${health}`);
    return `${notes.length} bad credentials × 2 listeners (60 kB bodies on the ingress) → 401 {code,message}; right token → 200; health open`;
  } finally {
    await server.proc.kill("SIGTERM");
  }
}

async function garbageService(server, ledger) {
  // Each attempt of ProbeGarbage/run gets a different kind of garbage; the last one a real answer.
  const modes = [
    ["status 500", (s) => { s.respond({ ":status": 500 }); s.end("boom"); }],
    ["HTML with status 200", (s) => { s.respond({ ":status": 200, "content-type": "text/html" }); s.end("<html>hi</html>"); }],
    ["random bytes", (s, ct) => { s.respond({ ":status": 200, "content-type": ct }); s.end(randomBytes(4096)); }],
    ["frame claiming 4 GiB", (s, ct) => { s.respond({ ":status": 200, "content-type": ct }); s.end(Buffer.from([4, 1, 0, 0, 0xff, 0xff, 0xff, 0xf0, 1, 2, 3])); }],
    ["unknown message type 0x0bad", (s, ct) => { s.respond({ ":status": 200, "content-type": ct }); s.end(Buffer.from(encodeFrame(0x0bad, randomBytes(64)))); }],
    ["output with a garbage body", (s, ct) => { s.respond({ ":status": 200, "content-type": ct }); s.end(Buffer.from(encodeFrame(MessageType.OutputCommand, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])))); }],
    ["stream reset", (s) => s.close(http2.constants.NGHTTP2_INTERNAL_ERROR)],
    ["end without End", (s, ct) => { s.respond({ ":status": 200, "content-type": ct }); s.end(); }],
    ["half a frame, then silence", (s, ct) => { s.respond({ ":status": 200, "content-type": ct }); s.write(Buffer.from(encodeFrame(MessageType.OutputCommand, randomBytes(1000))).subarray(0, 500)); }],
    ["session destroyed", (s) => s.session?.destroy()],
  ];
  const seen = [];
  const sessions = new Set();
  const deployment = http2.createServer();
  deployment.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
    s.on("error", () => undefined);
  });
  deployment.on("stream", (stream, headers) => {
    stream.on("error", () => undefined);
    if (headers[":path"] === "/discover") {
      stream.respond({ ":status": 200, "content-type": "application/vnd.restate.endpointmanifest.v2+json" });
      stream.end(JSON.stringify({ protocolMode: "BIDI_STREAM", minProtocolVersion: 5, maxProtocolVersion: 5,
        services: [{ name: "ProbeGarbage", ty: "SERVICE", handlers: [{ name: "run" }] }] }));
      return;
    }
    const ct = String(headers["content-type"]);
    let started = false;
    stream.on("data", () => {
      if (started) return;
      started = true;
      const attempt = seen.length;
      seen.push(Date.now());
      const mode = modes[attempt];
      if (mode) return mode[1](stream, ct);
      stream.respond({ ":status": 200, "content-type": ct });
      const text = new TextEncoder().encode(JSON.stringify("survived the garbage"));
      stream.end(Buffer.concat([
        encodeMessageFrame(MessageType.OutputCommand, { result: { case: "value", value: { content: text } } }),
        encodeMessageFrame(MessageType.End, {}),
      ]));
    });
  });
  await new Promise((r) => deployment.listen(0, "127.0.0.1", r));
  try {
    await registerDeployment(server, `http://127.0.0.1:${deployment.address().port}`);
    const t0 = Date.now();
    const pending = request(`${server.ingressUrl}/ProbeGarbage/run`, {
      method: "POST", body: "null", headers: { "content-type": "application/json" }, timeoutMs: 80_000,
    });
    // Meanwhile the other deployment keeps serving.
    let rounds = 0;
    while (seen.length <= modes.length && Date.now() - t0 < 70_000) {
      await assertServing(server, ledger, "while a service sends garbage: ");
      rounds++;
      await sleep(300);
    }
    const r = await pending;
    if (r.status !== 200 || r.json !== "survived the garbage") {
      throw new Error(`after ${seen.length} attempts: ${r.status} ${r.text.slice(0, 300)}`);
    }
    return `${modes.length} kinds of garbage (${modes.map((m) => m[0]).join(", ")}), one per attempt, then a good answer: ` +
      `200 after ${seen.length} attempts in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${rounds} healthy rounds on the example services meanwhile`;
  } finally {
    for (const s of sessions) s.destroy();
    deployment.close();
  }
}

async function frozenService(server, ledger, services) {
  const calls = Array.from({ length: 20 }, () => ledger.add({ timeoutMs: 60_000 }));
  await sleep(100);
  process.kill(services.pid, "SIGSTOP");
  const t0 = Date.now();
  const healthDuring = [];
  try {
    for (let i = 0; i < 12; i++) {
      await sleep(1000);
      healthDuring.push(await status(`${server.adminUrl}/health`, 2000), await status(`${server.ingressUrl}/restate/health`, 2000));
    }
  } finally {
    process.kill(services.pid, "SIGCONT");
  }
  const stopped = Date.now() - t0;
  const acked = (await Promise.all(calls)).filter(Boolean).length;
  const msToDrain = Date.now() - t0 - stopped;
  await assertServing(server, ledger, "after SIGCONT: ");
  const detail = `service stopped ${(stopped / 1000).toFixed(1)} s with 20 adds in flight; health during: ${healthDuring.every((h) => h === 200) ? "200 throughout" : healthDuring.join(",")}; ` +
    `${acked}/20 acknowledged ${(msToDrain / 1000).toFixed(1)} s after SIGCONT`;
  if (acked !== 20 || !healthDuring.every((h) => h === 200)) throw new Error(detail);
  return detail;
}

async function killUnderLoad(server, ledger) {
  let running = true;
  const workers = Array.from({ length: 16 }, async () => {
    while (running) {
      if (!(await ledger.add({ timeoutMs: 5000 }))) await sleep(50);
    }
  });
  await sleep(3000);
  const ackedBefore = ledger.acked;
  process.kill(server.proc.pid, "SIGKILL");
  await server.proc.exited;
  running = false;
  await Promise.all(workers);
  const unknown = ledger.keys.size - ledger.acked;
  const t0 = Date.now();
  await server.start();
  const restartMs = Date.now() - t0;
  const resent = await ledger.settle();
  await assertServing(server, ledger, "after restart: ");
  return `16 workers, kill -9 after 3 s: ${ackedBefore} acknowledged so far, ${unknown} answers lost; restart healthy in ${restartMs} ms; ` +
    `${resent} re-sent with their idempotency keys`;
}

async function fullDisk(services) {
  const server = new Endure("disk", { tmpfs: "16m", args: ["--partitions", "4"] });
  await server.start();
  const ledger = new Ledger(server, "disk");
  try {
    await registerDeployment(server, services.url);
    for (let i = 0; i < 5; i++) if (!(await ledger.add())) throw new Error(`before the fill: ${ledger.lastError}`);
    const filler = path.join(server.seenFromOutside, "filler");
    const fd = openSync(filler, "w");
    try {
      for (const size of [1 << 20, 1 << 12, 1]) {
        const chunk = Buffer.alloc(size, 1);
        for (;;) {
          try {
            writeSync(fd, chunk);
          } catch (err) {
            if (err.code !== "ENOSPC") throw err;
            break;
          }
        }
      }
    } finally {
      closeSync(fd);
    }
    // Writes while the disk is full: each must answer (503, saying why) or be acknowledged.
    const answers = [];
    for (let i = 0; i < 5; i++) {
      const t = Date.now();
      await ledger.add({ timeoutMs: 15_000, body: `${" ".repeat(300_000)}1` });
      answers.push(`${ledger.lastError?.slice(0, 3) ?? "200"}/${Date.now() - t}ms`);
      ledger.lastError = undefined;
    }
    let health;
    for (const until = Date.now() + 10_000; Date.now() < until; await sleep(250)) {
      health = await request(`${server.adminUrl}/health`, { timeoutMs: 2000 }).catch(() => undefined);
      if (health?.status === 503) break;
    }
    if (health?.status !== 503 || !/refusing writes/.test(health.text)) throw new Error(`health while full: ${health?.status} ${health?.text}`);
    const ingressHealth = await status(`${server.ingressUrl}/restate/health`);
    unlinkSync(filler);
    const t0 = Date.now();
    let recovered = 0;
    while (Date.now() - t0 < 20_000) {
      const [a, i] = [await status(`${server.adminUrl}/health`), await status(`${server.ingressUrl}/restate/health`)];
      if (a === 200 && i === 200) {
        recovered = Date.now() - t0;
        break;
      }
      await sleep(250);
    }
    if (!recovered) throw new Error("health did not recover within 20 s of freeing the disk");
    const resent = await ledger.settle();
    await assertServing(server, ledger, "after the disk had room again: ");
    await sleep(500);
    const value = await ledger.value();
    const detail = `16 MiB tmpfs filled: 5 writes answered ${answers.join(", ")}; health 503 "${health.json?.message?.slice(0, 60)}…", ingress health ${ingressHealth}; ` +
      `space freed → healthy in ${recovered} ms; ${resent} re-sent; Counter ${value} = ${ledger.keys.size} keys acknowledged`;
    if (value !== ledger.keys.size) throw new Error(detail);
    return detail;
  } finally {
    await server.proc.kill("SIGTERM");
  }
}

/** Overwrites the first 512 bytes of every page after the first: header intact, pages broken. */
function overwritePages(file) {
  const size = statSync(file).size;
  const fd = openSync(file, "r+");
  for (let off = 4096; off < size; off += 4096) writeSync(fd, randomBytes(512), 0, 512, off);
  closeSync(fd);
}

async function damagedDatabases(goodDataDir, crashedDataDir) {
  const cases = {
    "0-byte endure.db": (dir) => writeFileSync(path.join(dir, "endure.db"), ""),
    "random bytes": (dir) => writeFileSync(path.join(dir, "endure.db"), randomBytes(256 * 1024)),
    "header intact, pages overwritten": (dir) => {
      cpSync(goodDataDir, dir, { recursive: true });
      overwritePages(path.join(dir, "endure.db"));
    },
    "pages overwritten, WAL of a kill -9 beside it": (dir) => {
      cpSync(crashedDataDir, dir, { recursive: true });
      if (!existsSync(path.join(dir, "endure.db-wal"))) throw new Error("the crashed copy has no WAL");
      overwritePages(path.join(dir, "endure.db"));
    },
    "truncated to half": (dir) => {
      cpSync(goodDataDir, dir, { recursive: true });
      const file = path.join(dir, "endure.db");
      const bytes = readFileSync(file);
      writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 8192) * 4096));
    },
  };
  const notes = [];
  for (const [name, damage] of Object.entries(cases)) {
    const dir = mkdtempSync(path.join(WORK, "damaged-"));
    damage(dir);
    const wal = path.join(dir, "endure.db-wal");
    const before = readFileSync(path.join(dir, "endure.db"));
    const walBefore = existsSync(wal) ? readFileSync(wal) : undefined;
    const server = new Endure("damaged", { dataDir: dir });
    const t0 = Date.now();
    await server.start({ wait: false });
    const exit = await Promise.race([server.proc.exited, sleep(30_000).then(() => undefined)]);
    const healthy = exit === undefined && (await status(`${server.adminUrl}/health`)) === 200;
    await server.proc.kill("SIGKILL");
    const unchanged = Buffer.compare(before, readFileSync(path.join(dir, "endure.db"))) === 0 &&
      (walBefore === undefined || (existsSync(wal) && Buffer.compare(walBefore, readFileSync(wal)) === 0));
    const said = server.proc.output.match(/(refus|corrupt|empty|damaged|not a database|malformed|integrity)[^"\n]{0,80}/i)?.[0];
    if (exit === undefined || exit.code === 0 || !said || !unchanged) {
      throw new Error(`${name}: exit ${JSON.stringify(exit)}, healthy=${healthy}, file unchanged=${unchanged}; output: ${tail(server.proc.output, 600)}`);
    }
    notes.push(`${name}: refused (exit ${exit.code}, ${Date.now() - t0} ms), files unchanged`);
  }
  return notes.join("; ");
}

// ---------------------------------------------------------------------------------------------

const HEADERS_TIMEOUT_MS = 4000;
const READ_TIMEOUT_MS = 8000;
const MAX_CONNECTIONS = 3000;

async function main() {
  const started = Date.now();
  const services = await startServices();
  const server = new Endure("main", {
    args: ["--partitions", "4", "--ingress-max-connections", String(MAX_CONNECTIONS),
      "--request-headers-timeout", `${HEADERS_TIMEOUT_MS}ms`, "--request-read-timeout", `${READ_TIMEOUT_MS}ms`,
      "--inactivity-timeout", "5s", "--abort-timeout", "5s",
      "--retry-initial-interval", "50ms", "--retry-factor", "1.5", "--retry-max-interval", "500ms"],
  });
  watched.push(server);
  await server.start();
  await registerDeployment(server, services.url);
  const ledger = new Ledger(server, "probe");

  await check("near-limit bodies, then normal calls to the same deployment", () => nearLimitBodies(server, ledger));
  await check("discovery bomb, trickle, error page, malformed registrations", () => discoveryAbuse(server, ledger));
  await check("malformed HTTP/1.1 (ingress and admin)", () => malformedHttp1(server, ledger));
  await check("malformed HTTP/2: raw frames, rapid reset, CONTINUATION flood", () => malformedHttp2(server, ledger));
  await check("burst of 2000 concurrent calls", () => burst(server, ledger));
  await check(`connection flood (cap ${MAX_CONNECTIONS})`, () => connectionFlood(server, ledger, MAX_CONNECTIONS));
  await check("slowloris: trickled headers and bodies", () => slowloris(server, ledger, HEADERS_TIMEOUT_MS, READ_TIMEOUT_MS));
  await check("absurd delays", () => absurdDelays(server, ledger));
  await check("bad auth (server with tokens)", () => badAuth());
  await check("garbage service responses", () => garbageService(server, ledger));
  await check("SIGSTOP/SIGCONT of the service process", () => frozenService(server, ledger, services));
  await check("kill -9 of the server under load, idempotency keys", () => killUnderLoad(server, ledger));
  if (IS_ROOT) await check("full disk (16 MiB tmpfs in a private mount namespace)", () => fullDisk(services));
  else skip("full disk (16 MiB tmpfs in a private mount namespace)", "needs root and unshare -m");

  // A cleanly stopped copy of the main data directory is the raw material for the damage cases.
  await server.proc.kill("SIGTERM");
  const good = mkdtempSync(path.join(WORK, "good-"));
  cpSync(server.dataDir, good, { recursive: true });
  await server.start();
  // And a copy of what a kill -9 leaves: commits still in the WAL.
  for (let i = 0; i < 20; i++) await ledger.add();
  await server.proc.kill("SIGKILL");
  const crashed = mkdtempSync(path.join(WORK, "crashed-"));
  cpSync(server.dataDir, crashed, { recursive: true });
  await server.start();
  await check("damaged database files at start", () => damagedDatabases(good, crashed));

  await check("nothing acknowledged was lost (main Counter)", async () => {
    const resent = await ledger.settle();
    await sleep(2500); // the delayed sends
    const value = await ledger.value();
    const detail = `${ledger.keys.size} increments, each acknowledged once settled (${resent} re-sent); Counter value ${value}`;
    if (value !== ledger.keys.size) throw new Error(detail);
    return detail;
  });

  await server.proc.kill("SIGTERM");
  await services.kill("SIGTERM");
  return Date.now() - started;
}

function printTable(totalMs) {
  const rows = results.map((r) => [r.ok === undefined ? "SKIP" : r.ok ? "PASS" : "FAIL", r.name, `${(r.ms / 1000).toFixed(1)} s`, r.detail]);
  console.log("\n| result | attack | time | what happened |\n|---|---|---|---|");
  for (const row of rows) console.log(`| ${row.map((c) => String(c).replace(/\|/g, "\\|").replace(/\n/g, " ")).join(" | ")} |`);
  const failed = results.filter((r) => r.ok === false).length;
  console.log(`\n${results.length - failed} of ${results.length} passed or skipped, ${failed} failed, in ${(totalMs / 1000).toFixed(0)} s (node ${process.version}, ${os.cpus().length} cores)`);
  return failed;
}

let failed = 1;
let totalMs = 0;
const deadline = setTimeout(() => {
  console.error("probe: overall limit of 10 minutes reached");
  for (const c of children) c.kill("SIGKILL");
  process.exit(2);
}, 10 * 60_000);
try {
  totalMs = await main();
} catch (err) {
  results.push({ name: "probe set-up", ok: false, detail: String(err?.stack ?? err), ms: 0 });
} finally {
  clearTimeout(deadline);
  failed = printTable(totalMs);
  for (const c of children) c.kill("SIGKILL");
  rmSync(WORK, { recursive: true, force: true });
}
process.exit(failed === 0 ? 0 : 1);
