// A TCP proxy between the nodes and PostgreSQL, so a test can take the database away from the
// nodes without touching the shared server: `block()` drops every connection and refuses new
// ones, `unblock()` lets them through again.
import net from "node:net";

/** A proxy in front of one PostgreSQL server. */
export interface PgProxy {
  /** Port on 127.0.0.1 the nodes connect to. */
  readonly port: number;
  /** Connections dropped by the last `block()`. */
  readonly dropped: number;
  block(): void;
  unblock(): void;
  close(): Promise<void>;
}

/** Starts a proxy on a free loopback port forwarding to `target`. */
export async function startPgProxy(target: { host: string; port: number }): Promise<PgProxy> {
  const open = new Set<net.Socket>();
  let blocked = false;
  let dropped = 0;
  const server = net.createServer((client) => {
    if (blocked) {
      // Refused: the client sees its connection reset before any byte of the handshake.
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(target.port, target.host);
    open.add(client);
    open.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on("error", drop);
    upstream.on("error", drop);
    client.on("close", drop);
    upstream.on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    get dropped() {
      return dropped;
    },
    block() {
      blocked = true;
      dropped = open.size;
      for (const s of open) s.resetAndDestroy();
      open.clear();
    },
    unblock() {
      blocked = false;
    },
    async close() {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
