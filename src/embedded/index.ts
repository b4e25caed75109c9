/**
 * Embedded mode: an Endure node inside the calling process, serving the caller's SDK services
 * over the in-process transport. It owns only the wiring from the user's options to a node; the
 * node, its storage and its guarantees are exactly those of `endure server`.
 */
export {
  startEndure,
  IN_PROCESS_DEPLOYMENT_URL,
  type StartEndureOptions,
  type EmbeddedEndure,
  type ServiceDefinitions,
} from './start.ts';
// The options of typed calls (`rpc.opts`, `rpc.sendOpts`: idempotency key, delay) must come from
// the same copy of the client library as `endure.client`, which checks them with instanceof.
export { rpc, type Ingress } from '@restatedev/restate-sdk-clients';
