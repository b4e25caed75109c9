// The admin API: registering deployments through discovery, listing and describing
// deployments and services, removing a deployment.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  get,
  killAllStarted,
  register,
  startEndure,
  startServices,
  type EndureProcess,
  type ServicesProcess,
} from "../harness/index.ts";

let endure: EndureProcess;
let services: ServicesProcess;

beforeAll(async () => {
  services = await startServices("examples/services.ts");
  endure = await startEndure();
});

afterAll(async () => {
  await endure?.stop();
  await services?.stop();
  await killAllStarted();
});

interface ServiceJson {
  name: string;
  ty: string;
  deployment_id: string;
  handlers: Array<{ name: string; ty?: string }>;
}

async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(endure.adminUrl + path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

describe("admin API", () => {
  let deploymentId = "";

  it("the admin health endpoint answers 200", async () => {
    expect((await get(`${endure.adminUrl}/health`)).status).toBe(200);
    expect((await get(`${endure.ingressUrl}/restate/health`)).status).toBe(200);
  });

  it("registering a deployment discovers its services and answers 201", async () => {
    const deployment = await register(endure.adminUrl, services.url);
    deploymentId = deployment.id;
    expect(deployment.id).toMatch(/^dp_[0-9a-zA-Z]+$/);
    expect(deployment.services.map((s) => s.name).sort()).toEqual(["Counter", "Greeter", "Onboarding"]);
  });

  it("registering the same deployment again answers 200 with the same id", async () => {
    const again = await admin("POST", "/deployments", { uri: services.url });
    expect(again.status).toBe(200);
    expect((again.json as { id: string }).id).toBe(deploymentId);
  });

  it("lists and describes deployments", async () => {
    const list = await admin("GET", "/deployments");
    expect(list.status).toBe(200);
    const deployments = (list.json as { deployments: Array<{ id: string; uri: string }> }).deployments;
    expect(deployments.map((d) => d.id)).toEqual([deploymentId]);
    expect(deployments[0]!.uri.replace(/\/$/, "")).toBe(services.url);

    const one = await admin("GET", `/deployments/${deploymentId}`);
    expect(one.status).toBe(200);
    expect((one.json as { id: string }).id).toBe(deploymentId);
    const names = (one.json as { services: ServiceJson[] }).services.map((s) => s.name).sort();
    expect(names).toEqual(["Counter", "Greeter", "Onboarding"]);
  });

  it("lists and describes services with their type and handlers", async () => {
    const list = await admin("GET", "/services");
    expect(list.status).toBe(200);
    const all = (list.json as { services: ServiceJson[] }).services;
    expect(all.map((s) => s.name).sort()).toEqual(["Counter", "Greeter", "Onboarding"]);

    const counter = await admin("GET", "/services/Counter");
    expect(counter.status).toBe(200);
    const svc = counter.json as ServiceJson;
    expect(svc.name).toBe("Counter");
    expect(svc.ty).toBe("VirtualObject");
    expect(svc.deployment_id).toBe(deploymentId);
    const handlers = Object.fromEntries(svc.handlers.map((h) => [h.name, h.ty]));
    expect(handlers).toEqual({ add: "Exclusive", get: "Shared", reset: "Exclusive" });

    const greeter = await admin("GET", "/services/Greeter");
    expect((greeter.json as ServiceJson).ty).toBe("Service");
  });

  it("an unknown service is 404", async () => {
    expect((await admin("GET", "/services/NoSuchService")).status).toBe(404);
  });

  it("a registration body without a uri is a 4xx and registers nothing", async () => {
    const res = await admin("POST", "/deployments", { nope: 1 });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    const list = await admin("GET", "/deployments");
    expect((list.json as { deployments: unknown[] }).deployments).toHaveLength(1);
  });

  it("an unreachable deployment is refused and registers nothing", async () => {
    const res = await admin("POST", "/deployments", { uri: "http://127.0.0.1:1" });
    expect(res.status).toBeGreaterThanOrEqual(400);
    const list = await admin("GET", "/deployments");
    expect((list.json as { deployments: unknown[] }).deployments).toHaveLength(1);
  });

  it("the registered services are callable through the ingress", async () => {
    const res = await fetch(`${endure.ingressUrl}/Greeter/greet`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify("Ada"),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toBe("Hello, Ada!");
  });

  it("removing a deployment with force=true answers 202 and removes its services", async () => {
    const res = await admin("DELETE", `/deployments/${deploymentId}?force=true`);
    expect(res.status).toBe(202);
    expect((await admin("GET", "/deployments")).json).toEqual({ deployments: [] });
    expect((await admin("GET", "/services")).json).toEqual({ services: [] });
    const call = await fetch(`${endure.ingressUrl}/Greeter/greet`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify("Ada"),
    });
    expect(call.status).toBe(404);
  });
});
