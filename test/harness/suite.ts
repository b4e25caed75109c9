// One server plus the test services, registered, with a fresh side-effect file: what most
// test files need in beforeAll, and everything torn down in afterAll.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startEndure, type EndureOptions, type EndureProcess } from "./endure.ts";
import { startServices, type ServicesProcess } from "./services.ts";
import { call, register, type HttpResult } from "./http.ts";
import { countEffects, readEffects, type Effect } from "./effects.ts";
import { killAllStarted } from "./processes.ts";

/** The test services entry point. */
export const TEST_SERVICES = "test/services/main.ts";

/** A server with the test services registered. */
export interface Suite {
  endure: EndureProcess;
  services: ServicesProcess;
  /** Path of the side-effect file the services append to. */
  effectsFile: string;
  /** POSTs to the ingress (see {@link call}). */
  call(path: string, body?: unknown, headers?: Record<string, string>): Promise<HttpResult>;
  /** Effects recorded so far (for `id` if given). */
  effects(id?: string): Promise<Effect[]>;
  /** Number of effects of `kind` recorded for `id`. */
  count(kind: string, id: string): Promise<number>;
  /** Server and services output, for failure messages. */
  logs(): string;
  /** Stops everything and removes temp files. */
  stop(): Promise<void>;
}

/** Starts a server and the test services, registers them, and returns the handles. */
export async function startSuite(opts: EndureOptions = {}): Promise<Suite> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), "endure-effects-"));
  const effectsFile = path.join(scratch, "effects.jsonl");
  let endure: EndureProcess | undefined;
  let services: ServicesProcess | undefined;
  try {
    services = await startServices(TEST_SERVICES, { EFFECTS_FILE: effectsFile });
    endure = await startEndure(opts);
    await register(endure.adminUrl, services.url);
  } catch (err) {
    const detail = `${endure?.log.slice(-4000) ?? ""}\n${services?.log.slice(-2000) ?? ""}`;
    await killAllStarted();
    await rm(scratch, { recursive: true, force: true });
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${detail}`);
  }
  const server = endure;
  const svc = services;
  return {
    endure: server,
    services: svc,
    effectsFile,
    call: (p, body, headers) => call(server.ingressUrl, p, body, headers),
    effects: (id) => readEffects(effectsFile, id),
    count: (kind, id) => countEffects(effectsFile, kind, id),
    logs: () => `--- server ---\n${server.log.slice(-6000)}\n--- services ---\n${svc.log.slice(-3000)}`,
    async stop() {
      await Promise.allSettled([server.stop(), svc.stop()]);
      await killAllStarted();
      await rm(scratch, { recursive: true, force: true });
    },
  };
}

/** A unique id for a test's invocations and effects. */
export function uid(prefix = "t"): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
