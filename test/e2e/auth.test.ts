// Bearer-token auth on the admin API and the ingress: tokens from a file and the environment,
// rotation without a restart, open health endpoints, and the operator CLI sending its token.
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, TARGET, eventually, expectContinue, startEndure, startServices, TEST_SERVICES, type EndureProcess, type ServicesProcess } from "../harness/index.ts";

const FILE_TOKEN = "file-token-0123456789abcdef";
const ENV_TOKEN = "env-token-0123456789abcdef";
const INGRESS_TOKEN = "ingress-token-0123456789abcdef";

let scratch: string;
let tokenFile: string;
let server: EndureProcess;
let services: ServicesProcess;

async function status(url: string, init: RequestInit & { token?: string } = {}): Promise<{ status: number; json: unknown; headers: Headers }> {
  const headers = new Headers(init.headers);
  if (init.token !== undefined) headers.set("authorization", `Bearer ${init.token}`);
  const res = await fetch(url, { ...init, headers, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, headers: res.headers };
}

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, "bin/endure.js"), ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ENDURE_ADMIN_TOKEN: "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

// Auth is Endure's own (Restate's server leaves it to a proxy in front).
const endureOnly = describe.skipIf(TARGET !== "endure");

beforeAll(async () => {
  if (TARGET !== "endure") return;
  scratch = await mkdtemp(path.join(os.tmpdir(), "endure-auth-"));
  tokenFile = path.join(scratch, "admin-tokens");
  await writeFile(tokenFile, `# admin tokens, one per line\n${FILE_TOKEN}\n\n`);
  services = await startServices(TEST_SERVICES, { EFFECTS_FILE: path.join(scratch, "effects.jsonl") });
  server = await startEndure({
    partitions: 2,
    env: {
      ENDURE_ADMIN_TOKEN_FILE: tokenFile,
      ENDURE_ADMIN_TOKENS: ENV_TOKEN,
      ENDURE_INGRESS_TOKENS: INGRESS_TOKEN,
    },
  });
  const reg = await status(`${server.adminUrl}/deployments`, {
    method: "POST",
    token: FILE_TOKEN,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ uri: services.url }),
  });
  expect(reg.status, server.log).toBe(201);
});

afterAll(async () => {
  await server?.stop();
  await services?.stop();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

endureOnly("admin API auth", () => {
  it("answers 401 with Restate's error body to a request without a token or with a wrong one", async () => {
    for (const token of [undefined, "wrong-token-0123456789abcdef", `${FILE_TOKEN}x`, ""]) {
      const res = await status(`${server.adminUrl}/deployments`, token === undefined ? {} : { token });
      expect(res.status, String(token)).toBe(401);
      expect(res.json).toMatchObject({ code: 401 });
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    }
    const basic = await status(`${server.adminUrl}/deployments`, { headers: { authorization: `Basic ${FILE_TOKEN}` } });
    expect(basic.status).toBe(401);
  });

  it("accepts a token from the file and one from the environment", async () => {
    expect((await status(`${server.adminUrl}/deployments`, { token: FILE_TOKEN })).status).toBe(200);
    expect((await status(`${server.adminUrl}/deployments`, { token: ENV_TOKEN })).status).toBe(200);
    expect((await status(`${server.adminUrl}/deployments`, { headers: { authorization: `bearer ${ENV_TOKEN}` } })).status).toBe(200);
  });

  it("keeps the health endpoint open", async () => {
    expect((await status(`${server.adminUrl}/health`)).status).toBe(200);
  });

  it("refuses a removal without a token and changes nothing", async () => {
    const list = (await status(`${server.adminUrl}/deployments`, { token: FILE_TOKEN })).json as { deployments: { id: string }[] };
    const id = list.deployments[0]!.id;
    expect((await status(`${server.adminUrl}/deployments/${id}?force=true`, { method: "DELETE" })).status).toBe(401);
    expect((await status(`${server.adminUrl}/deployments/${id}`, { token: FILE_TOKEN })).status).toBe(200);
  });
});

endureOnly("ingress auth", () => {
  it("answers 401 to a call without the ingress token and runs it with the token", async () => {
    const url = `${server.ingressUrl}/Echo/greet`;
    const init = { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify("Ada") };
    const refused = await status(url, init);
    expect(refused.status).toBe(401);
    expect(refused.json).toMatchObject({ code: 401 });
    expect((await status(url, { ...init, token: FILE_TOKEN })).status).toBe(401);
    const ok = await status(url, { ...init, token: INGRESS_TOKEN });
    expect(ok.status).toBe(200);
    expect(ok.json).toBe("Hello, Ada!");
  });

  it("answers 401 to a client that asks before uploading, without inviting the upload", async () => {
    for (const [url, target] of [[server.ingressUrl, "/Echo/greet"], [server.adminUrl, "/deployments"]] as const) {
      const answer = await expectContinue(url, `POST ${target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\n`);
      expect(answer, url).toMatch(/^HTTP\/1\.1 401 /);
      expect(answer, url).not.toMatch(/100 Continue/);
    }
  });

  it("keeps the ingress health endpoint open", async () => {
    expect((await status(`${server.ingressUrl}/restate/health`)).status).toBe(200);
  });
});

endureOnly("token rotation", () => {
  it("picks up a rewritten token file without a restart", async () => {
    const next = "rotated-token-0123456789abcdef";
    await writeFile(tokenFile, `${next}\n`);
    await eventually(
      async () => ((await status(`${server.adminUrl}/deployments`, { token: next })).status === 200 ? true : undefined),
      10_000,
      "the rotated token",
    );
    expect((await status(`${server.adminUrl}/deployments`, { token: FILE_TOKEN })).status).toBe(401);
    expect((await status(`${server.adminUrl}/deployments`, { token: ENV_TOKEN })).status).toBe(200);
  });

  it("re-reads the token file on SIGHUP", async () => {
    const next = "sighup-token-0123456789abcdef";
    await writeFile(tokenFile, `${next}\n`);
    process.kill(server.pid, "SIGHUP");
    await eventually(
      async () => ((await status(`${server.adminUrl}/deployments`, { token: next })).status === 200 ? true : undefined),
      3_000,
      "the token after SIGHUP",
    );
    expect((await status(`${server.adminUrl}/health`)).status).toBe(200);
  });
});

endureOnly("operator CLI", () => {
  it("sends the token from ENDURE_ADMIN_TOKEN or --admin-token, and says what is wrong without one", async () => {
    const refused = await cli(["services", "list", "--admin-url", server.adminUrl]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/401/);
    expect(refused.stderr).toMatch(/--admin-token|ENDURE_ADMIN_TOKEN/);
    const byEnv = await cli(["services", "list", "--admin-url", server.adminUrl], { ENDURE_ADMIN_TOKEN: ENV_TOKEN });
    expect(byEnv.stderr).toBe("");
    expect(byEnv.code).toBe(0);
    expect(byEnv.stdout).toContain("Echo");
    const byFlag = await cli(["services", "list", "--admin-url", server.adminUrl, "--admin-token", ENV_TOKEN]);
    expect(byFlag.code).toBe(0);
  });
});
