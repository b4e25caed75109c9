// Starts a process serving SDK services (an entry file that prints `listening on <port>`).
import path from "node:path";
import { freePort } from "./ports.ts";
import { ManagedProcess } from "./processes.ts";
import { REPO_ROOT } from "./endure.ts";

/** A running service-endpoint process. */
export interface ServicesProcess {
  /** Deployment URI to register, e.g. http://127.0.0.1:40123. */
  readonly url: string;
  readonly pid: number;
  /** Captured output of the service process. */
  readonly log: string;
  /** Stops the process and waits for it to exit. */
  stop(): Promise<void>;
}

/** Spawns `node --import tsx <entry>` with PORT set to a free port and waits for it to listen. */
export async function startServices(entry: string, env: Record<string, string> = {}): Promise<ServicesProcess> {
  const port = await freePort();
  const proc = new ManagedProcess(
    `services(${path.basename(entry)})`,
    process.execPath,
    ["--import", "tsx", path.resolve(REPO_ROOT, entry)],
    { ...process.env, ...env, PORT: String(port) },
    REPO_ROOT,
  );
  // Generous: on a machine busy with other suites, loading the services through tsx alone can
  // take half a minute.
  const match = await proc.waitForOutput(/listening on (\d+)/, 60_000);
  return {
    url: `http://127.0.0.1:${match[1]}`,
    get pid() {
      return proc.pid;
    },
    get log() {
      return proc.log;
    },
    stop: () => proc.kill("SIGTERM", 3000),
  };
}
