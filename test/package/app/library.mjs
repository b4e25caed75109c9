// Runs an Endure node inside this process through the package's library entry point, registers
// the Greeter (served over HTTP/2 from this process too), calls it once and prints the answer.
import * as http2 from "node:http2";
import * as restate from "@restatedev/restate-sdk";
import { compileConfig, createLogger, startNode } from "endure";
import { greeter } from "./services.mjs";

const [dataDir, ingressBind, adminBind, servicePort] = process.argv.slice(2);
const server = http2.createServer(restate.endpoint().bind(greeter).http2Handler());
await new Promise((resolve) => server.listen(Number(servicePort), "127.0.0.1", resolve));

const node = await startNode(compileConfig({ flags: { dataDir, ingressBind, adminBind } }), createLogger("warn"));
const registered = await fetch(`${node.adminUrl}/deployments`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ uri: `http://127.0.0.1:${servicePort}` }),
});
if (!registered.ok) throw new Error(`registering failed: ${registered.status} ${await registered.text()}`);
const res = await fetch(`${node.ingressUrl}/Greeter/greet`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify("library"),
});
console.log(`answer ${res.status} ${await res.text()}`);
await node.close();
server.close();
