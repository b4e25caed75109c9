import type {
  DeploymentRecord,
  JsonValue,
  MetadataChange,
  MetadataSnapshot,
  MetadataStore,
  ServiceRecord,
} from '../metadata.ts';
import type { PgPool } from './db.ts';
import { refusal } from './refusal.ts';

interface DeploymentRow {
  id: string;
  url: string;
  created_at: number;
  data: string;
}

interface ServiceRow {
  name: string;
  revision: number;
  deployment_id: string;
  data: string;
}

/**
 * MetadataStore over the `deployment` and `service` tables of Endure's PostgreSQL schema. Each
 * change is one transaction of its own, on its own pooled connection: it never shares the fate
 * of a partition transaction in flight. Documents are serialised before the transaction starts,
 * so a change that cannot be stored touches nothing.
 */
export class PostgresMetadataStore implements MetadataStore {
  constructor(private readonly pool: PgPool) {}

  async load(): Promise<MetadataSnapshot> {
    const { pool } = this;
    const sql = pool.sql;
    const [deployments, services] = await pool.guard(
      pool.generation,
      Promise.all([
        sql<DeploymentRow[]>`SELECT id, url, created_at, data FROM deployment ORDER BY created_at, id COLLATE "C"`,
        sql<ServiceRow[]>`SELECT name, revision, deployment_id, data FROM service ORDER BY name COLLATE "C"`,
      ]),
    );
    return {
      deployments: deployments.map((r) => ({ id: r.id, url: r.url, createdAt: r.created_at, data: JSON.parse(r.data) as JsonValue })),
      services: services.map((r) => ({
        name: r.name,
        revision: r.revision,
        deploymentId: r.deployment_id,
        data: JSON.parse(r.data) as JsonValue,
      })),
    };
  }

  async commit(change: MetadataChange): Promise<void> {
    const deployments = (change.putDeployments ?? []).map((d) => ({ ...d, json: JSON.stringify(d.data) }));
    const services = (change.putServices ?? []).map((s) => ({ ...s, json: JSON.stringify(s.data) }));
    const { pool } = this;
    const generation = pool.generation;
    const work = pool.sql.begin((tx) => [
      ...(change.removeDeployments ?? []).map((id) => tx`DELETE FROM deployment WHERE id = ${id}`),
      ...deployments.map(
        (d) => tx`INSERT INTO deployment (id, url, created_at, data) VALUES (${d.id}, ${d.url}, ${d.createdAt}, ${d.json})
          ON CONFLICT (id) DO UPDATE SET url = excluded.url, created_at = excluded.created_at, data = excluded.data`,
      ),
      ...(change.removeServices ?? []).map((name) => tx`DELETE FROM service WHERE name = ${name}`),
      ...services.map(
        (s) => tx`INSERT INTO service (name, revision, deployment_id, data) VALUES (${s.name}, ${s.revision}, ${s.deploymentId}, ${s.json})
          ON CONFLICT (name) DO UPDATE SET revision = excluded.revision, deployment_id = excluded.deployment_id, data = excluded.data`,
      ),
    ]);
    try {
      await pool.guard(generation, work);
    } catch (err) {
      throw refusal(err) ?? err;
    }
  }

  saveDeployment(deployment: DeploymentRecord, services: ServiceRecord[]): Promise<void> {
    return this.commit({ putDeployments: [deployment], putServices: services });
  }

  removeDeployment(id: string, services: { put: ServiceRecord[]; remove: string[] }): Promise<void> {
    return this.commit({ removeDeployments: [id], putServices: services.put, removeServices: services.remove });
  }
}
