// Throwaway PostgreSQL databases for tests: each test file (or server) gets its own database on
// the machine's PostgreSQL, created empty and dropped afterwards, so runs never see each other.
import { randomBytes } from "node:crypto";
import postgres from "postgres";

/** The server tests create their databases on (trust auth, user postgres). */
export const TEST_PG_SERVER = process.env.ENDURE_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** A database that exists until `drop()`. */
export interface TestDatabase {
  readonly name: string;
  /** Connection URL of the database. */
  readonly url: string;
  /** Drops the database, closing whatever connections are still open on it. */
  drop(): Promise<void>;
}

/** Creates an empty database named `endure_test_<random>`. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `endure_test_${randomBytes(6).toString("hex")}`;
  const admin = postgres(TEST_PG_SERVER, { max: 1, onnotice: () => undefined });
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_PG_SERVER);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const sql = postgres(TEST_PG_SERVER, { max: 1, onnotice: () => undefined });
      try {
        await sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await sql.end();
      }
    },
  };
}
