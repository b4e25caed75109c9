// The test environment is not tied to Vitest: the node:test example runs under `node --test` and
// passes (examples/testing.test.ts covers Vitest itself).
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { expect, it } from "vitest";
import { REPO_ROOT } from "../harness/index.ts";

const run = promisify(execFile);

it("the test environment works under node:test", async () => {
  const { stdout } = await run(process.execPath, ["--import", "tsx", "--test", "examples/testing-node-test.ts"], {
    cwd: REPO_ROOT,
    timeout: 60_000,
    env: { ...process.env, RESTATE_LOGGING: "WARN" },
  });
  expect(stdout).toMatch(/# pass 1\b/);
  expect(stdout).toMatch(/# fail 0\b/);
});
