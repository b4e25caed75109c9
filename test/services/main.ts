// The service endpoint the end-to-end and crash tests register: every test service, served
// over HTTP/2 cleartext on 127.0.0.1:$PORT. Prints `listening on <port>` once bound.
import "../../examples/polyfill.js";
import * as restate from "@restatedev/restate-sdk";
import * as http2 from "node:http2";
import { echo, failing } from "./basic.ts";
import { counter, locking, store } from "./objects.ts";
import { sleeper, steps } from "./durable.ts";
import { caller, recorder } from "./calls.ts";
import { eventCounter } from "./events.ts";

const endpoint = restate
  .endpoint()
  .bind(echo)
  .bind(failing)
  .bind(counter)
  .bind(store)
  .bind(locking)
  .bind(sleeper)
  .bind(steps)
  .bind(recorder)
  .bind(caller)
  .bind(eventCounter);
for (const service of (await import("./semantics.ts")).semanticsServices) endpoint.bind(service);

const server = http2.createServer(endpoint.http2Handler());
server.listen(Number(process.env.PORT ?? 9080), "127.0.0.1", () => {
  const address = server.address();
  if (address !== null && typeof address === "object") console.log(`listening on ${address.port}`);
});
process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
