// Subscriptions through the admin API and the CLI, against the NATS and RabbitMQ brokers of this
// machine: bad specs are refused with a 400 that says why, a record's body, key and headers
// reach the handler, and a record the handler rejects does not hold the stream back.
import { spawn } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, TARGET, eventually, startSuite, uid, type Suite } from "../harness/index.ts";
import { clustersSetting, natsTopic, rabbitQueue, type TestTopic } from "../harness/brokers.ts";

let suite: Suite;
const topics: TestTopic[] = [];

beforeAll(async () => {
  suite = await startSuite({ env: { ENDURE_SUBSCRIPTION_CLUSTERS: clustersSetting() } });
});

afterAll(async () => {
  for (const t of topics) await t.remove();
  await suite?.stop();
});

async function admin(method: string, p: string, body?: unknown): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(suite.endure.adminUrl + p, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text === "" ? undefined : JSON.parse(text), headers: res.headers };
}

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, "bin/endure.js"), ...args, "--admin-url", suite.endure.adminUrl], {
      cwd: REPO_ROOT,
      env: { ...process.env, ENDURE_ADMIN_TOKEN: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

async function tally(key: string): Promise<{ count: number; last: number; disorder: number; header: string | null }> {
  const res = await suite.call(`/EventCounter/${encodeURIComponent(key)}/get`);
  return res.json as { count: number; last: number; disorder: number; header: string | null };
}

describe.skipIf(TARGET !== "endure")("subscriptions", () => {
  it("bad subscription specs get a 400 that says what is wrong, and nothing is created", async () => {
    const cases: [unknown, RegExp][] = [
      [{ source: "mqtt://nats1/x", sink: "service://EventCounter/add" }, /unknown scheme 'mqtt'/],
      [{ source: "nats://nowhere/x", sink: "service://EventCounter/add" }, /unknown nats cluster 'nowhere'/],
      [{ source: "kafka://nats1/x", sink: "service://EventCounter/add" }, /'nats1' is a nats cluster, not kafka/],
      [{ source: "nats://nats1/x", sink: "service://NoSuchService/add" }, /service 'NoSuchService' is not registered/],
      [{ source: "nats://nats1/x", sink: "service://EventCounter/nope" }, /has no handler 'nope'/],
      [{ source: "nats://nats1/x", sink: "service://EventCounter/internal" }, /is not public/],
      [{ source: "nats://nats1/x", sink: "http://EventCounter/add" }, /expected service:\/\/<service>\/<handler>/],
      [{ source: "nats://nats1/x", sink: "service://EventCounter/add", options: { prefetch: "5" } }, /Unknown option 'prefetch' for a nats source/],
      [{ sink: "service://EventCounter/add" }, /missing field 'source'/],
    ];
    for (const [body, message] of cases) {
      const res = await admin("POST", "/subscriptions", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.code).toBe(400);
      expect(res.json.message).toMatch(message);
    }
    expect((await admin("GET", "/subscriptions")).json.subscriptions).toEqual([]);
  });

  it("a subscription is created, listed, described and deleted through the admin API", async () => {
    const topic = await natsTopic(`endure.test.${uid("admin")}`);
    topics.push(topic);
    const source = `nats://nats1/${topic.name}`;
    const created = await admin("POST", "/subscriptions", { source, sink: "service://EventCounter/add", options: { batch_size: "10" } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ source, sink: "service://EventCounter/add", options: { batch_size: "10" } });
    expect(created.json.id).toMatch(/^sub_[0-9A-Za-z]{26}$/);
    expect(created.headers.get("location")).toBe(`/subscriptions/${created.json.id}`);

    const listed = await admin("GET", `/subscriptions?sink=${encodeURIComponent("service://EventCounter/add")}`);
    expect(listed.json.subscriptions.map((s: { id: string }) => s.id)).toContain(created.json.id);
    expect((await admin("GET", `/subscriptions?source=nats://nats1/other`)).json.subscriptions).toEqual([]);
    const described = await admin("GET", `/subscriptions/${created.json.id}`);
    expect(described.status).toBe(200);
    expect(described.json.consumer.state).toMatch(/running|backing-off/);

    expect((await admin("DELETE", `/subscriptions/${created.json.id}`)).status).toBe(202);
    expect((await admin("GET", `/subscriptions/${created.json.id}`)).status).toBe(404);
    expect((await admin("DELETE", `/subscriptions/${created.json.id}`)).status).toBe(404);
  });

  it("a subscription deleted while its consumer is still starting is gone at once", async () => {
    for (let i = 0; i < 3; i++) {
      const topic = await natsTopic(`endure.test.${uid("quick")}`);
      topics.push(topic);
      const created = await admin("POST", "/subscriptions", { source: `nats://nats1/${topic.name}`, sink: "service://EventCounter/add" });
      expect(created.status).toBe(201);
      expect((await admin("DELETE", `/subscriptions/${created.json.id}`)).status).toBe(202);
    }
  }, 40_000);

  it("the CLI creates, lists, describes and deletes a subscription", async () => {
    const queue = await rabbitQueue(uid("endure-cli"));
    topics.push(queue);
    const source = `rabbitmq://rabbit1/${queue.name}`;
    const created = await cli(["subscriptions", "create", source, "service://EventCounter/add", "-o", "prefetch=8"]);
    expect(created.stderr).toBe("");
    const id = /Created subscription (sub_\w+)/.exec(created.stdout)?.[1];
    expect(id, created.stdout).toBeDefined();

    const listed = await cli(["subscriptions", "list"]);
    expect(listed.stdout).toMatch(/ID\s+SOURCE\s+SINK\s+STATE\s+DELIVERED\s+ACKED\s+LAG/);
    expect(listed.stdout).toContain(id);
    expect(listed.stdout).toContain(source);
    const described = await cli(["subscriptions", "describe", id!]);
    expect(JSON.parse(described.stdout)).toMatchObject({ id, source, options: { prefetch: "8" } });

    const bad = await cli(["subscriptions", "create", "nats://nowhere/x", "service://EventCounter/add"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/400.*unknown nats cluster 'nowhere'/);

    expect((await cli(["subscriptions", "delete", id!])).stdout).toContain(`Deleted subscription ${id}`);
    expect((await cli(["subscriptions", "list"])).stdout).not.toContain(id);
  });

  for (const broker of ["nats", "rabbitmq"] as const) {
    it(`${broker}: body, key and headers reach the handler, and a poison record does not block the stream`, async () => {
      const name = broker === "nats" ? `endure.test.${uid("flow")}` : uid("endure-flow");
      const topic = broker === "nats" ? await natsTopic(name) : await rabbitQueue(name);
      topics.push(topic);
      const key = uid("k");
      await topic.publish([
        { key, body: { key, n: 1 }, headers: { "source-header": "one" } },
        { key, body: { key, n: 2, poison: true } },
        { key, body: { key, n: 2 }, headers: { "source-header": "three" } },
      ]);
      const cluster = broker === "nats" ? "nats1" : "rabbit1";
      const created = await admin("POST", "/subscriptions", { source: `${broker}://${cluster}/${name}`, sink: "service://EventCounter/add" });
      expect(created.status).toBe(201);
      await eventually(
        async () => {
          expect(await tally(key)).toEqual({ count: 2, last: 2, disorder: 0, header: "three" });
          return true;
        },
        20_000,
        `the records of ${key}`,
      );
      const sub = await admin("GET", `/subscriptions/${created.json.id}`);
      expect(sub.json.consumer.delivered).toBe(3);
      expect(sub.json.consumer.lag).toBe(0);
      expect((await admin("DELETE", `/subscriptions/${created.json.id}`)).status).toBe(202);
    });
  }
});
