// Embeds Endure through the package's library entry point: startEndure() runs the node in this
// process with the Greeter served in-process, then one call goes through the HTTP ingress and
// one through endure.client (in-process, with a send and an idempotency key through `rpc`).
import { rpc, startEndure } from "endure";
import { greeter } from "./services.mjs";

const [dataDir] = process.argv.slice(2);
const endure = await startEndure({ dataDir, services: [greeter] });
const res = await fetch(`${endure.ingressUrl}/Greeter/greet`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify("library"),
});
console.log(`answer ${res.status} ${await res.text()}`);
console.log(`client ${JSON.stringify(await endure.client.serviceClient(greeter).greet("client"))}`);
const send = await endure.client.serviceSendClient(greeter).greet("send", rpc.sendOpts({ idempotencyKey: "library-send" }));
console.log(`sent ${JSON.stringify(await endure.client.result(send))}`);
await endure.stop();
