// Re-executing a bench script inside a fresh network namespace with loopback only (as
// bench/run.mjs does), so that Restate's server, which reaches out to the internet at start-up,
// and everything else under test stay on 127.0.0.1.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/** Unless already inside one, re-runs the script `moduleUrl` inside `unshare -n` and exits with its status. */
export function reexecInNetns(moduleUrl) {
  if (process.env.ENDURE_BENCH_NETNS === "1") return;
  const self = fileURLToPath(moduleUrl);
  const unshareFlags = process.getuid?.() === 0 ? ["-n"] : ["-r", "-n"];
  const r = spawnSync(
    "unshare",
    [...unshareFlags, "sh", "-c", 'ip link set lo up && exec "$@"', "sh", process.execPath, self, ...process.argv.slice(2)],
    { stdio: "inherit", env: { ...process.env, ENDURE_BENCH_NETNS: "1" } },
  );
  if (r.error) console.error(`cannot run unshare: ${r.error.message}`);
  process.exit(r.status ?? 1);
}
