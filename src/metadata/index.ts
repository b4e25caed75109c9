/**
 * The schema registry: deployments registered through discovery, the services and handlers they
 * expose, and which revision of each service is active. Reads are synchronous lookups of an
 * in-memory snapshot; every change is made durable through a MetadataStore before it becomes
 * visible. This module never performs discovery or HTTP itself; the admin API hands it the
 * manifest it discovered.
 */
export { SchemaRegistry } from './registry.ts';
export type { RegisterOptions, RegisterOutcome, RegisterResult, ServiceModification } from './registry.ts';
export { MetadataError, MetadataErrorCode } from './errors.ts';
export { isDeploymentIdShape, newDeploymentId } from './ids.ts';
export { checkHandlerInput, contentTypeMatches } from './input.ts';
export { HANDLER_TYPES, SERVICE_TYPES } from './manifest.ts';
export type {
  DiscoverFn,
  DiscoverOptions,
  EndpointManifest,
  HandlerManifest,
  HandlerType,
  ProtocolMode,
  ServiceManifest,
  ServiceType,
} from './manifest.ts';
export type {
  DeploymentSchema,
  HandlerOptions,
  HandlerSchema,
  RetryPolicyOverrides,
  ServiceOptions,
  ServiceSchema,
} from './schema.ts';
