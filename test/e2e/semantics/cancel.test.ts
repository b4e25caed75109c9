// Cancel and kill: cancellation reaches the handler as a 409 terminal error at its next await,
// propagates to the call it waits on and lets it compensate; kill ends the whole call tree.
// Both release virtual-object locks. Admin operations on invocations.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, get, startSuite, uid, type Suite } from "../../harness/index.ts";
import { admin, appendEffect, invocationIdOf, invocationStatus, waitForStatus } from "./helpers.ts";

let suite: Suite;

beforeAll(async () => {
  suite = await startSuite();
});

afterAll(async () => {
  await suite?.stop();
});

const attach = (invocationId: string) => get(`${suite.endure.ingressUrl}/restate/invocation/${invocationId}/attach`);
const output = (invocationId: string) => get(`${suite.endure.ingressUrl}/restate/invocation/${invocationId}/output`);

/** Sends SemParent/run and waits until the child has started; returns both invocation ids. */
async function startTree(id: string): Promise<{ parent: string; child: string }> {
  const sent = await suite.call("/SemParent/run/send", { id });
  expect(sent.status, sent.text).toBe(202);
  const child = await eventually(async () => (await suite.effects(id)).find((e) => e.kind === "child-start")?.invocationId as string | undefined);
  return { parent: invocationIdOf(sent), child };
}

describe("cancel", () => {
  it("the handler sees a 409 terminal error, compensates, and the cancel reaches the child it waits on", async () => {
    const id = uid("cancel");
    const { parent, child } = await startTree(id);
    const res = await admin(suite.endure.adminUrl, "PATCH", `/invocations/${parent}/cancel`);
    expect(res.status, res.text).toBe(202);

    const parentOut = await attach(parent);
    expect(parentOut.status, parentOut.text).toBe(409);
    expect(parentOut.json).toMatchObject({ code: 409, message: "Cancelled" });
    const childOut = await attach(child);
    expect(childOut.status, childOut.text).toBe(409);
    expect(childOut.json).toMatchObject({ code: 409, message: "Cancelled" });

    const effects = await suite.effects(id);
    expect(effects.filter((e) => e.kind === "child-cancelled").map((e) => e.code)).toEqual([409]);
    expect(effects.filter((e) => e.kind === "compensate").map((e) => [e.code, e.message])).toEqual([[409, "Cancelled"]]);
    expect(effects.filter((e) => e.kind === "parent-start")).toHaveLength(1);
  });

  it("the older DELETE /invocations/{id}?mode=cancel cancels too", async () => {
    const id = uid("cancel");
    const { parent } = await startTree(id);
    const res = await admin(suite.endure.adminUrl, "DELETE", `/invocations/${parent}?mode=cancel`);
    expect(res.status, res.text).toBe(202);
    expect((await attach(parent)).status).toBe(409);
    expect(await suite.count("compensate", id)).toBe(1);
  });

  it("cancelling releases the object lock: the next inboxed call runs", async () => {
    const id = uid("lock");
    const key = uid("key");
    const hold = await suite.call(`/SemLock/${key}/hold/send`, { id });
    await eventually(async () => ((await suite.count("hold", id)) > 0 ? true : undefined));
    const next = suite.call(`/SemLock/${key}/next`, { id });
    await admin(suite.endure.adminUrl, "PATCH", `/invocations/${invocationIdOf(hold)}/cancel`);
    const nextRes = await next;
    expect(nextRes.status, nextRes.text).toBe(200);
    expect(nextRes.json).toBe(`next ran after ${id}`);
    expect((await attach(invocationIdOf(hold))).status).toBe(409);
  });
});

describe("kill", () => {
  it("ends the whole call tree at once, without running compensations", async () => {
    const id = uid("kill");
    const { parent, child } = await startTree(id);
    const res = await admin(suite.endure.adminUrl, "PATCH", `/invocations/${parent}/kill`);
    expect(res.status, res.text).toBe(200);
    const parentOut = await attach(parent);
    expect(parentOut.status, parentOut.text).toBe(409);
    expect(parentOut.json).toMatchObject({ code: 409, message: "killed" });
    const childOut = await attach(child);
    expect(childOut.status, childOut.text).toBe(409);
    expect(childOut.json).toMatchObject({ code: 409, message: "killed" });
    expect(await suite.count("compensate", id)).toBe(0);
    expect(await suite.count("child-cancelled", id)).toBe(0);
    expect(await invocationStatus(suite.endure.adminUrl, parent)).toBe("completed");
    expect(await invocationStatus(suite.endure.adminUrl, child)).toBe("completed");
  });

  it("the older DELETE /invocations/{id}?mode=kill kills too", async () => {
    const id = uid("kill");
    const { parent } = await startTree(id);
    const res = await admin(suite.endure.adminUrl, "DELETE", `/invocations/${parent}?mode=kill`);
    expect(res.status, res.text).toBe(202);
    expect((await attach(parent)).status).toBe(409);
    expect(await suite.count("compensate", id)).toBe(0);
  });

  it("killing releases the object lock: the next inboxed call runs", async () => {
    const id = uid("lock");
    const key = uid("key");
    const hold = await suite.call(`/SemLock/${key}/hold/send`, { id });
    await eventually(async () => ((await suite.count("hold", id)) > 0 ? true : undefined));
    const next = suite.call(`/SemLock/${key}/next`, { id });
    await admin(suite.endure.adminUrl, "PATCH", `/invocations/${invocationIdOf(hold)}/kill`);
    const nextRes = await next;
    expect(nextRes.status, nextRes.text).toBe(200);
    expect(nextRes.json).toBe(`next ran after ${id}`);
  });
});

describe("admin operations on invocations", () => {
  it("pause and resume: a retrying invocation is visible as paused and continues on resume", async () => {
    const id = uid("pause");
    const sent = await suite.call("/SemRetry/stuck/send", { id });
    const inv = invocationIdOf(sent);
    await eventually(async () => ((await suite.count("attempt", id)) >= 2 ? true : undefined));
    const paused = await admin(suite.endure.adminUrl, "PATCH", `/invocations/${inv}/pause`);
    expect(paused.status, paused.text).toBe(202);
    await waitForStatus(suite.endure.adminUrl, inv, "paused");
    const attemptsWhilePaused = await suite.count("attempt", id);
    await new Promise((r) => setTimeout(r, 600));
    expect(await suite.count("attempt", id)).toBe(attemptsWhilePaused);
    const again = await admin(suite.endure.adminUrl, "PATCH", `/invocations/${inv}/pause`);
    expect(again.status, again.text).toBe(200);

    appendEffect(suite.effectsFile, "fix", id);
    const resumed = await admin(suite.endure.adminUrl, "PATCH", `/invocations/${inv}/resume`);
    expect(resumed.status, resumed.text).toBe(200);
    const out = await attach(inv);
    expect(out.json).toBe(`unstuck:${id}`);
    expect(await suite.count("attempt", id)).toBe(attemptsWhilePaused + 1);
    expect(await invocationStatus(suite.endure.adminUrl, inv)).toBe("completed");
  });

  it("pause of a sleeping invocation holds it past its timer; resume continues it once", async () => {
    const id = uid("nap");
    const inv = invocationIdOf(await suite.call("/SemParent/nap/send", { id, ms: 1500 }));
    await eventually(async () => ((await suite.count("enter", id)) > 0 ? true : undefined));
    const paused = await admin(suite.endure.adminUrl, "PATCH", `/invocations/${inv}/pause`);
    expect(paused.status, paused.text).toBe(202);
    await waitForStatus(suite.endure.adminUrl, inv, "paused");
    await new Promise((r) => setTimeout(r, 2000));
    expect(await invocationStatus(suite.endure.adminUrl, inv)).toBe("paused");
    expect(await suite.count("woke", id)).toBe(0);
    expect((await admin(suite.endure.adminUrl, "PATCH", `/invocations/${inv}/resume`)).status).toBe(200);
    expect((await attach(inv)).json).toBe(`woke:${id}`);
    expect(await suite.count("woke", id)).toBe(1);
  });

  it("cancel, kill, pause and resume of a completed invocation answer 409", async () => {
    const id = uid("done");
    const inv = invocationIdOf(await suite.call("/SemParent/nap/send", { id, ms: 10 }));
    expect((await attach(inv)).json).toBe(`woke:${id}`);
    for (const op of ["cancel", "kill", "pause", "resume"]) {
      const res = await admin(suite.endure.adminUrl, "PATCH", `/invocations/${inv}/${op}`);
      expect(res.status, `${op}: ${res.text}`).toBe(409);
    }
    expect((await output(inv)).json).toBe(`woke:${id}`);
  });

  it("purge removes a completed invocation: its output is gone", async () => {
    const id = uid("purge");
    const sent = await suite.call("/SemParent/nap/send", { id, ms: 10 });
    const inv = invocationIdOf(sent);
    expect((await attach(inv)).json).toBe(`woke:${id}`);
    const purged = await admin(suite.endure.adminUrl, "PATCH", `/invocations/${inv}/purge`);
    expect(purged.status, purged.text).toBe(200);
    expect(await invocationStatus(suite.endure.adminUrl, inv)).toBeUndefined();
    expect((await output(inv)).status).toBe(404);
  });

  it("purge of a running invocation is refused", async () => {
    const id = uid("purge");
    const sent = await suite.call("/SemParent/nap/send", { id, ms: 5000 });
    const inv = invocationIdOf(sent);
    await eventually(async () => ((await suite.count("enter", id)) > 0 ? true : undefined));
    const purged = await admin(suite.endure.adminUrl, "PATCH", `/invocations/${inv}/purge`);
    expect(purged.status, purged.text).toBe(409);
    await admin(suite.endure.adminUrl, "PATCH", `/invocations/${inv}/kill`);
  });

  it("the older DELETE /invocations/{id}?mode=purge purges a completed invocation", async () => {
    const id = uid("purge");
    const inv = invocationIdOf(await suite.call("/SemParent/nap/send", { id, ms: 10 }));
    await attach(inv);
    const res = await admin(suite.endure.adminUrl, "DELETE", `/invocations/${inv}?mode=purge`);
    expect(res.status, res.text).toBe(202);
    await eventually(async () => ((await output(inv)).status === 404 ? true : undefined));
  });

  it("restart-as-new runs a completed invocation again under a new id", async () => {
    const id = uid("restart");
    const inv = invocationIdOf(await suite.call("/SemParent/nap/send", { id, ms: 10 }));
    expect((await attach(inv)).json).toBe(`woke:${id}`);
    const res = await admin(suite.endure.adminUrl, "PATCH", `/invocations/${inv}/restart-as-new`);
    expect(res.status, res.text).toBe(200);
    const fresh = (res.json as { new_invocation_id: string }).new_invocation_id;
    expect(fresh).toMatch(/^inv_/);
    expect(fresh).not.toBe(inv);
    expect((await attach(fresh)).json).toBe(`woke:${id}`);
    expect(await suite.count("woke", id)).toBe(2);
  });

  it("operations on an unknown invocation answer 404", async () => {
    const unknown = "inc_1aQyGD1ut4kB0jMgZXFeRsbakEwaP23Rrs";
    const res = await admin(suite.endure.adminUrl, "PATCH", `/invocations/inv_1aQyGD1ut4kB0jMgZXFeRsbakEwaP23Rrs/kill`);
    expect(res.status, res.text).toBe(404);
    const bad = await admin(suite.endure.adminUrl, "PATCH", `/invocations/${unknown}/kill`);
    expect(bad.status, bad.text).toBe(400);
  });
});
