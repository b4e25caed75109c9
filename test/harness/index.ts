// Test harness for end-to-end and crash tests: starts Endure and SDK service processes on
// free loopback ports, registers deployments, calls the ingress, reads side-effect files.
// Every process it starts is tracked by PID and killed by `killAllStarted` / `Suite.stop`.
export { startEndure, TARGET, STORE, REPO_ROOT, type EndureOptions, type EndureProcess } from "./endure.ts";
export { startServices, type ServicesProcess } from "./services.ts";
export { call, get, register, eventually, expectContinue, type HttpResult, type CallOptions, type Deployment } from "./http.ts";
export { readEffects, countEffects, type Effect } from "./effects.ts";
export { freePort } from "./ports.ts";
export { ManagedProcess, killAllStarted, sleep } from "./processes.ts";
export { adminUrlForInvocation, CLUSTER_NODES, type ClusterHandle } from "./cluster.ts";
export { startSuite, uid, TEST_SERVICES, type Suite } from "./suite.ts";
export { startRawDeployment, rawOutput, rawRetryableError, type RawAttempt, type RawDeployment } from "./raw-deployment.ts";
