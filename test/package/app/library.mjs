// Embeds Endure through the package's library entry point: startEndure() runs the node in this
// process with the Greeter served in-process, then one call goes through the HTTP ingress.
import { startEndure } from "endure";
import { greeter } from "./services.mjs";

const [dataDir] = process.argv.slice(2);
const endure = await startEndure({ dataDir, services: [greeter] });
const res = await fetch(`${endure.ingressUrl}/Greeter/greet`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify("library"),
});
console.log(`answer ${res.status} ${await res.text()}`);
await endure.stop();
