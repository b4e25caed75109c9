// The test environment under Jest (ESM: run with node --experimental-vm-modules).
import { EndureTestEnvironment } from "endure";
import { counter, greeter } from "./services.mjs";

let env;

beforeAll(async () => {
  env = await EndureTestEnvironment.start({ services: [greeter, counter] });
});

afterAll(async () => {
  await env?.stop();
});

test("the Greeter answers through the test environment", async () => {
  const res = await fetch(`${env.baseUrl()}/Greeter/greet`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify("jest"),
  });
  expect(await res.json()).toBe("Hello, jest!");
});

test("state put in place by the test is what the handler reads, and what it wrote is read back", async () => {
  await env.stateOf(counter, "jest").set("total", 41);
  const res = await fetch(`${env.baseUrl()}/Counter/jest/add`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(1),
  });
  expect(await res.json()).toBe(42);
  expect(await env.stateOf(counter, "jest").getAll()).toEqual({ total: 42 });
});
