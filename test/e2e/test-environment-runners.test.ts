// The test environment is not tied to Vitest: the node:test example runs under `node --test` and
// passes (examples/testing.test.ts covers Vitest itself). The TAP reporter is asked for by name:
// Node 20 prints TAP when its output is not a terminal, Node 22 and later print the spec format.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { expect, it } from "vitest";
import { REPO_ROOT } from "../harness/index.ts";

const run = promisify(execFile);

it("the test environment works under node:test", async () => {
  const { stdout } = await run(process.execPath, ["--import", "tsx", "--test", "--test-reporter=tap", "examples/testing-node-test.ts"], {
    cwd: REPO_ROOT,
    timeout: 60_000,
    env: { ...process.env, RESTATE_LOGGING: "WARN" },
  });
  expect(stdout).toMatch(/# pass 1\b/);
  expect(stdout).toMatch(/# fail 0\b/);
});
