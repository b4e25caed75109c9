// The schema registry's persistence contract. The registry keeps its snapshot in memory and
// writes every change through this interface; records carry the registry's JSON documents
// opaquely, so stores never depend on the shape of a schema.

/** A JSON value as stored in a metadata record. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** One registered deployment; `data` is the registry's document for it. */
export interface DeploymentRecord {
  id: string;
  url: string;
  createdAt: number;
  data: JsonValue;
}

/** The active revision of one service; `data` is the registry's document for it. */
export interface ServiceRecord {
  name: string;
  revision: number;
  deploymentId: string;
  data: JsonValue;
}

/** Everything the registry persisted. */
export interface MetadataSnapshot {
  deployments: DeploymentRecord[];
  services: ServiceRecord[];
}

/** A set of changes applied atomically: either all of it is durable, or none. */
export interface MetadataChange {
  putDeployments?: DeploymentRecord[];
  removeDeployments?: string[];
  putServices?: ServiceRecord[];
  removeServices?: string[];
}

/** Durable storage for deployments and services. */
export interface MetadataStore {
  /** Reads every deployment and service record. */
  load(): Promise<MetadataSnapshot>;
  /** Applies a change in one transaction; resolves once it is durable. */
  commit(change: MetadataChange): Promise<void>;
  /** Upserts a deployment together with the service revisions it makes active. */
  saveDeployment(deployment: DeploymentRecord, services: ServiceRecord[]): Promise<void>;
  /** Removes a deployment; re-points or removes the services it was serving. */
  removeDeployment(id: string, services: { put: ServiceRecord[]; remove: string[] }): Promise<void>;
}
