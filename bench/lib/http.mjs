// The load driver's HTTP client: keep-alive HTTP/1.1 over node:http, one agent per target,
// bodies read to the end so sockets go back to the pool.
import http from "node:http";

/** A keep-alive client for one base URL. */
export class Client {
  constructor(baseUrl, maxSockets = 256) {
    const u = new URL(baseUrl);
    this.host = u.hostname;
    this.port = Number(u.port);
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  /** Sends a request; resolves with {status, body} (body as text), rejects on network errors. */
  request(method, path, body, headers = {}, timeoutMs = 120_000) {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const h = { ...headers };
      if (payload) {
        h["content-type"] = "application/json";
        h["content-length"] = payload.length;
      }
      const req = http.request({ host: this.host, port: this.port, method, path, headers: h, agent: this.agent }, (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on("error", reject);
      });
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout after ${timeoutMs} ms: ${method} ${path}`)));
      req.on("error", reject);
      req.end(payload);
    });
  }

  /** POST with a JSON body; resolves with the parsed answer, rejects unless 2xx. */
  async call(path, body, headers) {
    const res = await this.request("POST", path, body, headers);
    if (res.status < 200 || res.status >= 300) throw new Error(`${path}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
    return res.body === "" ? undefined : JSON.parse(res.body);
  }

  /** GET; resolves with the parsed answer, rejects unless 2xx. */
  async get(path) {
    const res = await this.request("GET", path);
    if (res.status < 200 || res.status >= 300) throw new Error(`${path}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
    return res.body === "" ? undefined : JSON.parse(res.body);
  }

  close() {
    this.agent.destroy();
  }
}

/** Clients for several nodes of a cluster: each request goes to the next node in turn. */
export class RotatingClient {
  constructor(baseUrls, maxSockets = 256) {
    this.clients = baseUrls.map((u) => new Client(u, maxSockets));
    this.next = 0;
  }

  #pick() {
    return this.clients[this.next++ % this.clients.length];
  }

  request(method, path, body, headers, timeoutMs) {
    return this.#pick().request(method, path, body, headers, timeoutMs);
  }

  call(path, body, headers) {
    return this.#pick().call(path, body, headers);
  }

  get(path) {
    return this.#pick().get(path);
  }

  close() {
    for (const c of this.clients) c.close();
  }
}
