// A service, a virtual object and a workflow for the typed client tests (test/e2e/embedded-client.test.ts):
// their handler types are what endure.client's calls are checked against.
import * as restate from "@restatedev/restate-sdk";

export const greeter = restate.service({
  name: "Greeter",
  handlers: {
    greet: async (_ctx: restate.Context, name: string) => `Hello, ${name}!`,
    refuse: async (_ctx: restate.Context, name: string): Promise<string> => {
      throw new restate.TerminalError(`no greeting for ${name}`, { errorCode: 409 });
    },
  },
});

export const counter = restate.object({
  name: "Counter",
  handlers: {
    add: async (ctx: restate.ObjectContext, n: number) => {
      const total = ((await ctx.get<number>("total")) ?? 0) + n;
      ctx.set("total", total);
      return total;
    },
    get: restate.handlers.object.shared(async (ctx: restate.ObjectSharedContext) => (await ctx.get<number>("total")) ?? 0),
  },
});

export const signup = restate.workflow({
  name: "Signup",
  handlers: {
    run: async (ctx: restate.WorkflowContext, req: { email: string }) => {
      const code = await ctx.run("code", () => `code-for-${req.email}`);
      ctx.set("code", code);
      return { welcome: req.email, code };
    },
    code: async (ctx: restate.WorkflowSharedContext) => (await ctx.get<string>("code")) ?? null,
  },
});
