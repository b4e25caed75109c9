// A full disk under a running server: the data directory is a small tmpfs in a private mount
// namespace (root only), filled with a file while invocations run. Writes are refused with 503
// and health says why; nothing is left half-done: once the file is removed, the invocation whose
// command was refused completes, its key unlocks, and health recovers.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeSync, openSync, closeSync, unlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  REPO_ROOT,
  ManagedProcess,
  call,
  eventually,
  freePort,
  get,
  register,
  startServices,
  type ServicesProcess,
} from "../harness/index.ts";

const CAN_MOUNT = process.getuid?.() === 0 && spawnSync("unshare", ["-m", "true"]).status === 0;
const TMPFS_SIZE = "16m";

describe.skipIf(!CAN_MOUNT)("a full disk", () => {
  let services: ServicesProcess;
  let server: ManagedProcess;
  let dataDir: string;
  let ingressUrl: string;
  let adminUrl: string;
  /** The data directory as the server sees it, from outside its mount namespace. */
  let seenByServer: string;

  beforeAll(async () => {
    services = await startServices("test/services/storage.ts");
    dataDir = mkdtempSync(path.join(os.tmpdir(), "endure-diskfull-"));
    const [ingress, admin] = [await freePort(), await freePort()];
    ingressUrl = `http://127.0.0.1:${ingress}`;
    adminUrl = `http://127.0.0.1:${admin}`;
    const mountAndRun = 'mount -t tmpfs -o size="$1" endure-disk-full "$2" && shift 2 && exec "$@"';
    server = new ManagedProcess(
      "endure",
      "unshare",
      ["-m", "--propagation", "private", "sh", "-c", mountAndRun, "sh", TMPFS_SIZE, dataDir,
        process.execPath, path.join(REPO_ROOT, "bin", "endure.js"), "server", "--data-dir", dataDir,
        "--ingress-bind", `127.0.0.1:${ingress}`, "--admin-bind", `127.0.0.1:${admin}`, "--partitions", "4", "--log-level", "warn"],
      { ...process.env, ENDURE_INACTIVITY_TIMEOUT: "1m" },
      REPO_ROOT,
    );
    seenByServer = `/proc/${server.pid}/root${dataDir}`;
    await eventually(async () => ((await health()).every((h) => h.status === 200) ? true : undefined), 30_000, "server health");
    await register(adminUrl, services.url);
  });

  afterAll(async () => {
    await server?.kill("SIGTERM");
    await services?.stop();
    // The tmpfs went away with the server's mount namespace; this is the empty mount point.
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function health() {
    return [await get(`${adminUrl}/health`, 5000), await get(`${ingressUrl}/restate/health`, 5000)];
  }

  /** Fills the server's data directory with one file until the disk refuses another byte. */
  function fillDisk(file: string): void {
    const fd = openSync(file, "w");
    try {
      for (const size of [1 << 20, 1 << 12, 1]) {
        const chunk = Buffer.alloc(size, 1);
        for (;;) {
          try {
            writeSync(fd, chunk);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
            break;
          }
        }
      }
    } finally {
      closeSync(fd);
    }
  }

  it("refuses writes with 503 while the disk is full, then finishes what was refused and unlocks the key", async () => {
    expect((await call(ingressUrl, "/Filler/k1/add", 1)).json, server.log).toBe(1);

    // Accepted while there is room; its step result comes later, on a full disk, and cannot be
    // journaled: the attempt must not complete, nor leave the key locked once space is back.
    const sent = await call(ingressUrl, "/Filler/k1/slowWrite/send", { sleepMs: 1500, bytes: 1_000_000 });
    expect(sent.status, sent.text).toBe(202);
    const invocationId = (sent.json as { invocationId: string }).invocationId;
    const filler = path.join(seenByServer, "filler");
    fillDisk(filler);
    await new Promise((r) => setTimeout(r, 3000));
    const during = await get(`${ingressUrl}/restate/invocation/${invocationId}/output`, 5000);
    expect(during.status, during.text).not.toBe(200);

    // A call with a large body cannot be logged: 503, saying why, and nothing accepted.
    const big = await call(ingressUrl, "/Filler/k2/add", undefined, {}, { raw: `${" ".repeat(2_000_000)}5` });
    expect(big.status, big.text).toBe(503);
    expect((big.json as { message: string }).message).toMatch(/refusing writes: the disk is full/);
    const unhealthy = await eventually(
      async () => {
        const [admin, ingress] = await health();
        return admin!.status === 503 && ingress!.status === 503 ? [admin!, ingress!] : undefined;
      },
      10_000,
      "health to report the refused writes",
    );
    for (const h of unhealthy) expect((h.json as { message: string }).message).toMatch(/refusing writes: the disk is full/);

    unlinkSync(filler);

    // Space is back: the refused invocation completes, the key unlocks, health recovers.
    const output = await eventually(
      async () => {
        const r = await get(`${ingressUrl}/restate/invocation/${invocationId}/output`, 5000);
        return r.status === 200 ? r : undefined;
      },
      30_000,
      "the refused invocation to complete",
    );
    expect(output.json).toBe(1);
    const after = await call(ingressUrl, "/Filler/k1/add", 1, {}, { timeoutMs: 20_000 });
    expect(after.json, server.log).toBe(2);
    expect((await call(ingressUrl, "/Filler/k1/get")).json).toEqual({ writes: 1, total: 2, size: 1_000_000 });
    const retried = await call(ingressUrl, "/Filler/k2/add", undefined, {}, { raw: `${" ".repeat(2_000_000)}5` });
    expect(retried.json, retried.text).toBe(5);
    await eventually(async () => ((await health()).every((h) => h.status === 200) ? true : undefined), 10_000, "health to recover");
  });
});
