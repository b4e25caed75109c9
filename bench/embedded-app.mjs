// The embedded-mode app of bench/embedded.mjs: one Node.js process running Endure through
// startEndure() (the library, from src/ through tsx as bin/endure.js does in a clone) with the
// benchmark's services (bench/service-defs.mjs) served in-process. Prints
// `ready <ingressUrl> <adminUrl>` once started; SIGTERM stops it cleanly.
//   DATA_DIR=… INGRESS=127.0.0.1:0 ADMIN=127.0.0.1:0 node bench/embedded-app.mjs
import { register } from "tsx/esm/api";
import { services } from "./service-defs.mjs";

register();
const { startEndure } = await import("../src/index.ts");

const endure = await startEndure({
  dataDir: process.env.DATA_DIR,
  services,
  ingress: process.env.INGRESS ?? "127.0.0.1:0",
  admin: process.env.ADMIN ?? "127.0.0.1:0",
  logLevel: "warn",
});
console.log(`ready ${endure.ingressUrl} ${endure.adminUrl}`);
const stop = async () => {
  await endure.stop();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
