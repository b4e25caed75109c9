/**
 * Testing without Docker: a throw-away embedded Endure with the services under test in-process,
 * shaped like Restate's testcontainers environment. It adds nothing to the node: state is read
 * and changed through the admin API (SQL and the state mutation), like any operator would.
 */
export { EndureTestEnvironment, type TestEnvironmentOptions, type StateProxy, type StateSerde } from './environment.ts';
