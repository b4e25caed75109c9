// The SDK service process the benchmark registers with both servers: official
// @restatedev/restate-sdk services (bench/service-defs.mjs) served over HTTP/2 cleartext on
// 127.0.0.1:$PORT. Prints `listening on <port>` once bound.
import "../examples/polyfill.js";
import * as restate from "@restatedev/restate-sdk";
import { services } from "./service-defs.mjs";

const port = await restate.serve({
  services,
  port: Number(process.env.PORT ?? 9080),
});
console.log(`listening on ${port}`);
process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
