// kill -9 while a counter is being incremented: every request carries its own idempotency
// key and is retried with the same key after the restart, so the count ends exactly at N.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep, startSuite, uid, type HttpResult, type Suite } from "../harness/index.ts";

let suite: Suite;

beforeAll(async () => {
  suite = await startSuite();
});

afterAll(async () => {
  await suite?.stop();
});

/** Calls until a 200 arrives, retrying network failures and 5xx with the same headers. */
async function callUntilOk(path: string, body: unknown, headers: Record<string, string>): Promise<HttpResult> {
  let last = "";
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      const res = await suite.call(path, body, headers);
      if (res.status === 200) return res;
      last = `${res.status} ${res.text}`;
    } catch (err) {
      last = String(err);
    }
    await sleep(100);
  }
  throw new Error(`${path} never succeeded; last: ${last}\n${suite.logs()}`);
}

function pickDistinct(count: number, from: number, to: number): Set<number> {
  const picked = new Set<number>();
  while (picked.size < count) picked.add(from + Math.floor(Math.random() * (to - from)));
  return picked;
}

describe("crash during increments", () => {
  it("a counter incremented 30 times through three kill -9 restarts ends at exactly 30", async () => {
    const N = 30;
    const key = uid("crash-counter");
    const killAt = pickDistinct(3, 2, N - 2);
    const totals: number[] = [];
    let kills = 0;
    for (let i = 0; i < N; i++) {
      const headers = { "idempotency-key": `${key}-${i}` };
      const inFlight = suite.call(`/Counter/${key}/add`, 1, headers).then(
        (res) => res,
        () => undefined,
      );
      if (killAt.has(i)) {
        await sleep(Math.floor(Math.random() * 40));
        await suite.endure.kill("SIGKILL");
        kills++;
        await suite.endure.restart();
      }
      const first = await inFlight;
      const res = first?.status === 200 ? first : await callUntilOk(`/Counter/${key}/add`, 1, headers);
      totals.push(res.json as number);
    }
    expect(kills).toBe(3);
    expect(totals).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    const final = await callUntilOk(`/Counter/${key}/get`, undefined, {});
    expect(final.json).toBe(N);
  });

  it("concurrent increments on several keys survive a kill -9 mid-flight, each applied exactly once", async () => {
    const keys = Array.from({ length: 5 }, (_, i) => uid(`burst${i}`));
    const perKey = 8;
    const requests = Array.from({ length: keys.length * perKey }, (_, i) => ({
      key: keys[i % keys.length]!,
      headers: { "idempotency-key": uid(`burst-req${i}`) },
    }));
    const inFlight = requests.map((r) =>
      suite.call(`/Counter/${r.key}/add`, 1, r.headers).then(
        (res) => res,
        () => undefined,
      ),
    );
    await sleep(20 + Math.floor(Math.random() * 40));
    await suite.endure.kill("SIGKILL");
    await suite.endure.restart();
    const answers = await Promise.all(
      requests.map(async (r, i) => {
        const first = await inFlight[i];
        const res = first?.status === 200 ? first : await callUntilOk(`/Counter/${r.key}/add`, 1, r.headers);
        return { key: r.key, total: res.json as number };
      }),
    );
    for (const key of keys) {
      const totals = answers.filter((a) => a.key === key).map((a) => a.total).sort((a, b) => a - b);
      expect(totals, `answers for ${key}`).toEqual(Array.from({ length: perKey }, (_, i) => i + 1));
      expect((await callUntilOk(`/Counter/${key}/get`, undefined, {})).json).toBe(perKey);
    }
  });
});
