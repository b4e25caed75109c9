// PostgreSQL for bench runs. The runs happen inside a network namespace with loopback only
// (Restate's server must not reach out), where the machine's PostgreSQL on 127.0.0.1:5432 is
// not reachable by TCP; its Unix socket is a file and is. Endure takes only postgres:// URLs with
// a host, so a socat bridge inside the namespace listens on the namespace's 127.0.0.1:5432 and
// passes every connection on to the socket. The bridge adds a hop per query on both sides it
// serves alike (one node or a cluster); its CPU shows in the machine load, not in Endure's.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import postgres from "postgres";
import { Child } from "./servers.mjs";

/** The machine's PostgreSQL socket (Debian's default directory). */
export const PG_SOCKET = process.env.ENDURE_BENCH_PG_SOCKET ?? "/var/run/postgresql/.s.PGSQL.5432";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts the TCP → Unix socket bridge on 127.0.0.1:5432 of this namespace; resolves once it accepts connections. */
export async function startPgBridge() {
  if (!existsSync(PG_SOCKET)) throw new Error(`no PostgreSQL socket at ${PG_SOCKET} (set ENDURE_BENCH_PG_SOCKET)`);
  const bridge = new Child("pg-bridge", "socat", ["TCP-LISTEN:5432,bind=127.0.0.1,fork,reuseaddr", `UNIX-CONNECT:${PG_SOCKET}`], {});
  const deadline = Date.now() + 10_000;
  for (;;) {
    const sql = postgres({ host: "127.0.0.1", port: 5432, user: "postgres", database: "postgres", max: 1, connect_timeout: 2, onnotice: () => undefined });
    try {
      await sql`SELECT 1`;
      await sql.end();
      return bridge;
    } catch (err) {
      await sql.end({ timeout: 1 }).catch(() => undefined);
      if (bridge.exited || Date.now() > deadline) throw new Error(`the PostgreSQL bridge did not come up: ${err}\n${bridge.tail()}`);
      await sleep(100);
    }
  }
}

/** Creates an empty database `endure_bench_<random>`; `url` reaches it through the bridge, `drop()` removes it. */
export async function createBenchDatabase() {
  const name = `endure_bench_${randomBytes(5).toString("hex")}`;
  const admin = () => postgres({ path: PG_SOCKET, user: "postgres", database: "postgres", max: 1, onnotice: () => undefined });
  const sql = admin();
  try {
    await sql.unsafe(`CREATE DATABASE ${name}`);
  } finally {
    await sql.end();
  }
  return {
    name,
    url: `postgres://postgres@127.0.0.1:5432/${name}`,
    /** A client on the database (through the socket), for reading lease rows. */
    connect: () => postgres({ path: PG_SOCKET, user: "postgres", database: name, max: 1, onnotice: () => undefined }),
    async drop() {
      const s = admin();
      try {
        await s.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await s.end();
      }
    },
  };
}
