// The test environment under Jest (ESM: run with node --experimental-vm-modules).
import { EndureTestEnvironment } from "endure";
import { greeter } from "./services.mjs";

let env;

beforeAll(async () => {
  env = await EndureTestEnvironment.start({ services: [greeter] });
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
