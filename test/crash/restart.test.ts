// A graceful restart (SIGTERM) keeps everything: deployments, object state, stored results
// of idempotent invocations, and pending delayed sends.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, get, startSuite, uid, type Suite } from "../harness/index.ts";

let suite: Suite;

beforeAll(async () => {
  suite = await startSuite();
});

afterAll(async () => {
  await suite?.stop();
});

/** Registered deployments as `id uri: sorted service names` (the server may list in any order). */
async function deployments(): Promise<string[]> {
  const body = (await get(`${suite.endure.adminUrl}/deployments`)).json as {
    deployments: Array<{ id: string; uri: string; services: Array<{ name: string }> }>;
  };
  return body.deployments.map((d) => `${d.id} ${d.uri}: ${d.services.map((s) => s.name).sort().join(",")}`).sort();
}

describe("graceful restart", () => {
  it("deployments, state, idempotent results and delayed sends survive a SIGTERM restart", async () => {
    const key = uid("restart");
    const stampId = uid("stamp");
    const noteId = uid("note");
    const idem = { "idempotency-key": uid("idem") };
    expect((await suite.call(`/Counter/${key}/add`, 11)).json).toBe(11);
    const stamp = await suite.call("/Echo/stamp", stampId, idem);
    expect(stamp.status).toBe(200);
    const sentAt = Date.now();
    expect((await suite.call(`/Recorder/${key}/note/send?delay=2s`, noteId)).status).toBe(202);
    const deploymentsBefore = await deployments();

    await suite.endure.restart();

    expect(await deployments()).toEqual(deploymentsBefore);
    expect((await suite.call(`/Counter/${key}/get`)).json).toBe(11);
    expect((await suite.call(`/Counter/${key}/add`, 1)).json).toBe(12);
    const again = await suite.call("/Echo/stamp", stampId, idem);
    expect(again.json).toBe(stamp.json);
    expect(await suite.count("stamp", stampId)).toBe(1);
    const notes = await eventually(async () => {
      const found = (await suite.effects(noteId)).filter((e) => e.kind === "note");
      return found.length > 0 ? found : undefined;
    }, 15_000, "the delayed note");
    expect(notes).toHaveLength(1);
    expect(notes[0]!.t).toBeGreaterThanOrEqual(sentAt + 2000);
  });
});
