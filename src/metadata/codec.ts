import type { JsonValue } from '../store/metadata.ts';
import type { DeploymentSchema, HandlerSchema, ServiceSchema } from './schema.ts';

// JSON documents of the schema registry as stored through MetadataStore. Handlers are kept as
// a Map in memory (no prototype keys on the hot path) and as an array on disk.

/** A deployment as persisted: its schema plus the service revisions it holds. */
export interface StoredDeployment {
  deployment: DeploymentSchema;
  /** The revisions of its services this deployment serves (kept for fallback on removal). */
  services: ServiceSchema[];
}

interface ServiceDoc extends Omit<ServiceSchema, 'handlers'> {
  handlers: HandlerSchema[];
}

/** Encodes a service schema as a JSON document. */
export function encodeService(s: ServiceSchema): JsonValue {
  const doc: ServiceDoc = { ...s, handlers: [...s.handlers.values()] };
  return JSON.parse(JSON.stringify(doc)) as JsonValue;
}

/** Decodes a service schema from its JSON document. */
export function decodeService(value: JsonValue): ServiceSchema {
  const doc = value as unknown as ServiceDoc;
  const handlers = new Map<string, HandlerSchema>();
  for (const h of doc.handlers) handlers.set(h.name, deepFreeze(h));
  return Object.freeze({ ...doc, handlers });
}

/** Encodes a deployment with its service revisions. */
export function encodeDeployment(d: StoredDeployment): JsonValue {
  return {
    deployment: JSON.parse(JSON.stringify(d.deployment)) as JsonValue,
    services: d.services.map(encodeService),
  };
}

/** Decodes a deployment with its service revisions. */
export function decodeDeployment(value: JsonValue): StoredDeployment {
  const doc = value as { deployment: JsonValue; services: JsonValue[] };
  return {
    deployment: deepFreeze(doc.deployment as unknown as DeploymentSchema),
    services: doc.services.map(decodeService),
  };
}

/** Freezes a plain JSON-like object graph so snapshot values cannot be mutated by readers. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value) && !(value instanceof Map)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
