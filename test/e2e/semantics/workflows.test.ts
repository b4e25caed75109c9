// Workflows: run once per id, shared handlers concurrent with run, durable promises, retention,
// the /restate/workflow attach and output paths, and no idempotency key on run.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, get, startSuite, uid, type Suite } from "../../harness/index.ts";
import { FAST_CLEANUP_ENV } from "./helpers.ts";

let suite: Suite;

beforeAll(async () => {
  suite = await startSuite({ env: FAST_CLEANUP_ENV });
});

afterAll(async () => {
  await suite?.stop();
});

const wf = (name: string, id: string, handler: string): string => `/${name}/${encodeURIComponent(id)}/${handler}`;

describe("workflows", () => {
  it("run executes once per workflow id: a second submission is PreviouslyAccepted with the same invocation id", async () => {
    const id = uid("wf");
    const first = await suite.call(`${wf("SemWorkflow", id, "run")}/send`, { id });
    expect(first.status, first.text).toBe(202);
    expect(first.json).toMatchObject({ status: "Accepted" });
    const invocationId = (first.json as { invocationId: string }).invocationId;
    expect(invocationId).toMatch(/^inv_/);

    const second = await suite.call(`${wf("SemWorkflow", id, "run")}/send`, { id });
    expect(second.status, second.text).toBe(202);
    expect(second.json).toEqual({ invocationId, status: "PreviouslyAccepted" });

    expect((await suite.call(wf("SemWorkflow", id, "approve"), "yes")).json).toBe("resolved");
    const attached = await get(`${suite.endure.ingressUrl}/restate/invocation/${invocationId}/attach`);
    expect(attached.json).toBe("approved:yes");
    expect(await suite.count("wf-run", id)).toBe(1);
  });

  it("a second call to run is refused with 409 while attach answers the first result", async () => {
    const id = uid("wf");
    const first = suite.call(wf("SemWorkflow", id, "run"), { id });
    await eventually(async () => ((await suite.call(wf("SemWorkflow", id, "status"))).json === "waiting" ? true : undefined));
    const second = await suite.call(wf("SemWorkflow", id, "run"), { id: `${id}-other-input` });
    expect(second.status, second.text).toBe(409);
    expect(second.json).toMatchObject({ code: 409, message: "the workflow method was already invoked" });
    await suite.call(wf("SemWorkflow", id, "approve"), "first");
    const a = await first;
    expect(a.status, a.text).toBe(200);
    expect(a.json).toBe("approved:first");
    const after = await suite.call(wf("SemWorkflow", id, "run"), { id });
    expect(after.status, after.text).toBe(409);
    const attached = await get(`${suite.endure.ingressUrl}/restate/workflow/SemWorkflow/${id}/attach`);
    expect(attached.json).toBe("approved:first");
    expect(await suite.count("wf-run", id)).toBe(1);
    expect(await suite.count("wf-run", `${id}-other-input`)).toBe(0);
  });

  it("shared handlers run while run is waiting; resolve wakes run; peek sees the value", async () => {
    const id = uid("wf");
    await suite.call(`${wf("SemWorkflow", id, "run")}/send`, { id });
    await eventually(async () => ((await suite.call(wf("SemWorkflow", id, "status"))).json === "waiting" ? true : undefined));
    expect((await suite.call(wf("SemWorkflow", id, "peek"))).json).toBeNull();
    expect((await suite.call(wf("SemWorkflow", id, "approve"), "go")).json).toBe("resolved");
    expect((await suite.call(wf("SemWorkflow", id, "peek"))).json).toBe("go");
    const out = await get(`${suite.endure.ingressUrl}/restate/workflow/SemWorkflow/${id}/attach`);
    expect(out.status, out.text).toBe(200);
    expect(out.json).toBe("approved:go");
    expect((await suite.call(wf("SemWorkflow", id, "status"))).json).toBe("approved");
  });

  it("a rejected promise fails the awaiting run with a terminal error", async () => {
    const id = uid("wf");
    await suite.call(`${wf("SemWorkflow", id, "run")}/send`, { id });
    expect((await suite.call(wf("SemWorkflow", id, "deny"), "no way")).json).toBe("rejected");
    const out = await get(`${suite.endure.ingressUrl}/restate/workflow/SemWorkflow/${id}/attach`);
    expect(out.status, out.text).toBe(200);
    expect(out.json).toBe("rejected:no way");
  });

  it("a promise resolved before run awaits it is kept", async () => {
    const id = uid("wf");
    await suite.call(`${wf("SemWorkflow", id, "run")}/send`, { id, delayMs: 1500 });
    expect((await suite.call(wf("SemWorkflow", id, "approve"), "early")).json).toBe("resolved");
    const out = await get(`${suite.endure.ingressUrl}/restate/workflow/SemWorkflow/${id}/attach`);
    expect(out.json).toBe("approved:early");
  });

  it("resolving a promise twice fails the second time", async () => {
    const id = uid("wf");
    await suite.call(`${wf("SemWorkflow", id, "run")}/send`, { id });
    expect((await suite.call(wf("SemWorkflow", id, "approve"), "once")).json).toBe("resolved");
    const again = await suite.call(wf("SemWorkflow", id, "approve"), "twice");
    expect(again.status, again.text).toBe(409);
    expect(again.json).toMatchObject({ code: 409, message: "promise was already completed" });
    const out = await get(`${suite.endure.ingressUrl}/restate/workflow/SemWorkflow/${id}/output`);
    expect(out.json).toBe("approved:once");
  });

  it("output is not ready while run is in flight, then answers the result", async () => {
    const id = uid("wf");
    const notStarted = await get(`${suite.endure.ingressUrl}/restate/workflow/SemWorkflow/${id}/output`);
    expect(notStarted.status, notStarted.text).toBe(404);
    await suite.call(`${wf("SemWorkflow", id, "run")}/send`, { id });
    await eventually(async () => ((await suite.call(wf("SemWorkflow", id, "status"))).json === "waiting" ? true : undefined));
    const pending = await get(`${suite.endure.ingressUrl}/restate/workflow/SemWorkflow/${id}/output`);
    expect(pending.status, pending.text).toBe(470);
    await suite.call(wf("SemWorkflow", id, "approve"), "done");
    const out = await eventually(async () => {
      const res = await get(`${suite.endure.ingressUrl}/restate/workflow/SemWorkflow/${id}/output`);
      return res.status === 200 ? res : undefined;
    });
    expect(out.json).toBe("approved:done");
  });

  it("an idempotency-key on a workflow run is rejected with 400", async () => {
    const id = uid("wf");
    const res = await suite.call(wf("SemWorkflow", id, "run"), { id }, { "idempotency-key": "k1" });
    expect(res.status, res.text).toBe(400);
    expect(await suite.count("wf-run", id)).toBe(0);
  });

  it("state and promises are kept for the workflow retention, then the id may run again", async () => {
    const id = uid("wf");
    await suite.call(`${wf("SemShortWorkflow", id, "run")}/send`, { id });
    await suite.call(wf("SemShortWorkflow", id, "approve"), "kept");
    const out = await get(`${suite.endure.ingressUrl}/restate/workflow/SemShortWorkflow/${id}/attach`);
    expect(out.json).toBe("approved:kept");
    expect((await suite.call(wf("SemShortWorkflow", id, "status"))).json).toBe("approved");
    expect((await suite.call(wf("SemShortWorkflow", id, "peek"))).json).toBe("kept");

    // Retention is 1 s and the cleaner runs every second: state, promise and result go away.
    await eventually(
      async () => ((await suite.call(wf("SemShortWorkflow", id, "status"))).json === null ? true : undefined),
      10_000,
      "workflow state to be purged",
    );
    expect((await suite.call(wf("SemShortWorkflow", id, "peek"))).json).toBeNull();
    expect((await get(`${suite.endure.ingressUrl}/restate/workflow/SemShortWorkflow/${id}/output`)).status).toBe(404);
    const again = await suite.call(`${wf("SemShortWorkflow", id, "run")}/send`, { id });
    expect(again.json).toMatchObject({ status: "Accepted" });
    await suite.call(wf("SemShortWorkflow", id, "approve"), "again");
    const second = await get(`${suite.endure.ingressUrl}/restate/workflow/SemShortWorkflow/${id}/attach`);
    expect(second.json).toBe("approved:again");
    expect(await suite.count("wf-run", id)).toBe(2);
  });
});
