// Workflows for the semantics tests: a run handler waiting on a durable promise, shared
// handlers that resolve, reject, peek and read state while run is in flight.
import * as restate from "@restatedev/restate-sdk";
import { record } from "./effects.ts";

type WfInput = { id: string; delayMs?: number };

function approvalWorkflow(name: string, workflowRetentionMs: number) {
  return restate.workflow({
    name,
    handlers: {
      /** Records one "wf-run" step, waits `delayMs`, then awaits the "approval" promise. */
      run: async (ctx: restate.WorkflowContext, req: WfInput): Promise<string> => {
        await ctx.run("start", () => {
          record("wf-run", req.id, { key: ctx.key });
        });
        ctx.set("status", "waiting");
        if (req.delayMs !== undefined) await ctx.sleep(req.delayMs);
        try {
          const value = await ctx.promise<string>("approval").get();
          ctx.set("status", "approved");
          return `approved:${value}`;
        } catch (err) {
          if (!(err instanceof restate.TerminalError)) throw err;
          ctx.set("status", "rejected");
          return `rejected:${err.message}`;
        }
      },
      approve: restate.handlers.workflow.shared(async (ctx: restate.WorkflowSharedContext, value: string): Promise<string> => {
        await ctx.promise<string>("approval").resolve(value);
        return "resolved";
      }),
      deny: restate.handlers.workflow.shared(async (ctx: restate.WorkflowSharedContext, reason: string): Promise<string> => {
        await ctx.promise<string>("approval").reject(reason);
        return "rejected";
      }),
      /** The promise value if already resolved, else null. */
      peek: restate.handlers.workflow.shared(async (ctx: restate.WorkflowSharedContext): Promise<string | null> => {
        const value = await ctx.promise<string>("approval").peek();
        return value ?? null;
      }),
      status: restate.handlers.workflow.shared(
        async (ctx: restate.WorkflowSharedContext): Promise<string | null> => (await ctx.get<string>("status")) ?? null,
      ),
    },
    options: { workflowRetention: { milliseconds: workflowRetentionMs } },
  });
}

/** Workflow whose state and promises are kept for an hour. */
export const semWorkflow = approvalWorkflow("SemWorkflow", 3_600_000);
/** Workflow whose state and promises are kept for one second only. */
export const semShortWorkflow = approvalWorkflow("SemShortWorkflow", 1_000);
