// A service endpoint that accepts only requests signed with Restate's request identity: the
// public key (`publickeyv1_…`) comes from IDENTITY_KEY. Served over HTTP/2 cleartext on
// 127.0.0.1:$PORT; prints `listening on <port>` once bound.
import "../../examples/polyfill.js";
import * as restate from "@restatedev/restate-sdk";
import * as http2 from "node:http2";
import { echo } from "./basic.ts";
import { counter } from "./objects.ts";

const key = process.env.IDENTITY_KEY;
if (!key) throw new Error("IDENTITY_KEY (publickeyv1_…) is required");

const endpoint = restate.endpoint().bind(echo).bind(counter).withIdentityV1(key);
const server = http2.createServer(endpoint.http2Handler());
server.listen(Number(process.env.PORT ?? 9080), "127.0.0.1", () => {
  const address = server.address();
  if (address !== null && typeof address === "object") console.log(`listening on ${address.port}`);
});
process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
