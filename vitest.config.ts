import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Two cores: end-to-end files each start a server and a service process.
    maxWorkers: 2,
    fileParallelism: true,
    projects: [
      { extends: true, test: { name: "unit", include: ["test/unit/**/*.test.ts", "test/contract/**/*.test.ts"] } },
      { extends: true, test: { name: "e2e", include: ["test/e2e/**/*.test.ts", "test/crash/**/*.test.ts", "examples/**/*.test.ts"] } },
      // npm pack, install into an empty project, run the installed CLI and library.
      { extends: true, test: { name: "package", include: ["test/package/**/*.test.ts"] } },
      // Several Endure processes on one PostgreSQL database: leases, failover, fencing.
      {
        extends: true,
        test: {
          name: "cluster",
          include: ["test/cluster/**/*.test.ts"],
        },
      },
      {
        // The semantics of the end-to-end suite again, with every invocation suspending as soon
        // as it waits. Tests of the edges (auth, limits, UI, CLIs, metrics, brokers) do not
        // depend on suspension and run once.
        extends: true,
        test: {
          name: "e2e-suspend",
          include: [
            "test/e2e/semantics/**/*.test.ts",
            "test/e2e/durable.test.ts",
            "test/e2e/objects.test.ts",
            "test/e2e/suspension.test.ts",
            "test/e2e/ingress.test.ts",
            "test/e2e/examples.test.ts",
            "test/e2e/embedded-options.test.ts",
          ],
          env: { ENDURE_INACTIVITY_TIMEOUT: "0" },
        },
      },
      {
        // A representative part of the end-to-end suite and a crash test on PostgreSQL (every
        // server gets a fresh database on 127.0.0.1:5432): calls, sends, sleeps, objects,
        // awakeables and signals, idempotency, workflows, kill -9, and Restate's CLI over /query. Not yet the schedule crash test:
        // it counts a ctx.run side effect once across kill -9, which holds only while the run's
        // ack is faster than the kill lands; on PostgreSQL under load it sometimes is not.
        extends: true,
        test: {
          name: "e2e-postgres",
          include: [
            "test/e2e/durable.test.ts",
            "test/e2e/objects.test.ts",
            "test/e2e/semantics/awakeables.test.ts",
            "test/e2e/semantics/idempotency.test.ts",
            "test/e2e/semantics/workflows.test.ts",
            "test/crash/counter.test.ts",
            // SQL introspection as Restate's CLI uses it.
            "test/e2e/restate-cli.test.ts",
          ],
          env: { E2E_STORE: "postgres" },
        },
      },
      // The semantics of the end-to-end suite against three Endure nodes on one fresh PostgreSQL
      // database, every test's requests spread over the three (test/harness/cluster.ts). Not yet
      // part of `npm test`: not yet reliable (see below); run it with
      // `ENDURE_E2E_CLUSTER=1 npx vitest run --project e2e-cluster`.
      ...(process.env.ENDURE_E2E_CLUSTER === "1"
        ? [
          {
            extends: true,
            test: {
              name: "e2e-cluster",
              include: [
                "test/e2e/durable.test.ts",
                "test/e2e/objects.test.ts",
                "test/e2e/semantics/awakeables.test.ts",
                "test/e2e/semantics/cancel.test.ts",
                "test/e2e/semantics/combinators.test.ts",
                "test/e2e/semantics/idempotency.test.ts",
                "test/e2e/semantics/workflows.test.ts",
              ],
              // Not deployments.test.ts: a deployment removed through one node is still listed by
              // the others until they re-read the deployments (within a second).
              env: { E2E_STORE: "cluster" },
              // Three nodes start per file.
              hookTimeout: 120_000,
            },
          },
          ]
        : []),
    ],
  },
});
