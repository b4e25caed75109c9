// kill -9 in the middle of a five-step handler: after the restart it completes, and no step
// whose result was acknowledged runs again. A step starts only after the previous step's
// result was acknowledged, so every step before the last one started at the kill ran once;
// only that last one may run twice.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, get, sleep, startSuite, uid, type Suite } from "../harness/index.ts";

let suite: Suite;

beforeAll(async () => {
  suite = await startSuite();
});

afterAll(async () => {
  await suite?.stop();
});

async function attach(invocationId: string): Promise<{ status: number; json: unknown }> {
  const url = `${suite.endure.ingressUrl}/restate/invocation/${invocationId}/attach`;
  for (let attempt = 0; ; attempt++) {
    try {
      return await get(url);
    } catch (err) {
      if (attempt > 50) throw err;
      await sleep(100);
    }
  }
}

describe("crash between steps", () => {
  for (const killAfterStep of [2, 3]) {
    it(`a five-step handler killed during step ${killAfterStep} completes after restart without rerunning acknowledged steps`, async () => {
      const id = uid("crash-steps");
      const sent = await suite.call("/Steps/five/send", { id, stepMs: 300 });
      expect(sent.status).toBe(202);
      const invocationId = (sent.json as { invocationId: string }).invocationId;
      await eventually(async () => {
        const steps = (await suite.effects(id)).map((e) => e.step as number);
        return steps.includes(killAfterStep) ? true : undefined;
      }, 15_000, `step ${killAfterStep} to start`);
      await sleep(Math.floor(Math.random() * 250));
      await suite.endure.kill("SIGKILL");
      await sleep(100);
      const atKill = (await suite.effects(id)).map((e) => e.step as number);
      const lastStarted = Math.max(...atKill);
      await suite.endure.restart();

      const res = await attach(invocationId);
      expect(res.status, suite.logs()).toBe(200);
      expect(res.json).toEqual([10, 20, 30, 40, 50]);

      const runs = (await suite.effects(id)).map((e) => e.step as number);
      const times = (step: number): number => runs.filter((s) => s === step).length;
      for (let step = 1; step <= 5; step++) {
        if (step === lastStarted) {
          expect(times(step), `step ${step} (in flight at the kill)`).toBeGreaterThanOrEqual(1);
          expect(times(step), `step ${step} (in flight at the kill)`).toBeLessThanOrEqual(2);
        } else {
          expect(times(step), `step ${step} in ${JSON.stringify(runs)}`).toBe(1);
        }
      }
      // Steps ran in order; a repeat of the in-flight step comes right after its first run.
      expect([...new Set(runs)]).toEqual([1, 2, 3, 4, 5]);
    });
  }
});
