// The edge of the server: what the ingress accepts on the wire and what it refuses.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep, startSuite, uid, type Suite } from "../harness/index.ts";

let suite: Suite;

beforeAll(async () => {
  suite = await startSuite();
});

afterAll(async () => {
  await suite?.stop();
});

describe("delayed sends", () => {
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
