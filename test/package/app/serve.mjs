// Serves the Greeter over HTTP/2 on PORT, for `npx endure server` to call.
import * as http2 from "node:http2";
import * as restate from "@restatedev/restate-sdk";
import { greeter } from "./services.mjs";

const server = http2.createServer(restate.endpoint().bind(greeter).http2Handler());
server.listen(Number(process.env.PORT), "127.0.0.1", () => console.log("listening"));
