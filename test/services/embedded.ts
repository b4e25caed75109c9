// An application embedding Endure: startEndure() runs the node in this process with some of the
// test services in-process. Data directory and listen addresses come from the environment
// (EMBEDDED_DATA_DIR, EMBEDDED_INGRESS, EMBEDDED_ADMIN). Prints `ready <ingress> <admin>`.
import { startEndure } from "../../src/index.ts";
import { echo } from "./basic.ts";
import { counter } from "./objects.ts";
import { sleeper, steps } from "./durable.ts";

const endure = await startEndure({
  dataDir: process.env.EMBEDDED_DATA_DIR ?? "./embedded-data",
  services: [echo, counter, sleeper, steps],
  ingress: process.env.EMBEDDED_INGRESS,
  admin: process.env.EMBEDDED_ADMIN,
});
console.log(`ready ${endure.ingressUrl} ${endure.adminUrl}`);

const stop = (): void => {
  endure.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
