import type { SqliteDb } from './db.ts';
import { refusal } from './refusal.ts';
import type {
  DeploymentRecord,
  JsonValue,
  MetadataChange,
  MetadataSnapshot,
  MetadataStore,
  ServiceRecord,
} from '../metadata.ts';

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

/** MetadataStore over the `deployment` and `service` tables of an Endure SQLite database. */
export class SqliteMetadataStore implements MetadataStore {
  private readonly selectDeployments;
  private readonly selectServices;
  private readonly upsertDeployment;
  private readonly deleteDeployment;
  private readonly upsertService;
  private readonly deleteService;
  private readonly applyChange: (change: MetadataChange) => void;

  /**
   * @param serialize runs a piece of work on the connection exclusively. When the connection is
   * shared with the partition store, pass its `exclusive`: otherwise a metadata commit made
   * while a partition transaction awaits would nest inside that transaction and share its fate.
   */
  constructor(
    db: SqliteDb,
    private readonly serialize: <T>(fn: () => T) => Promise<T> = async (fn) => fn(),
  ) {
    this.selectDeployments = db.prepare<[], DeploymentRow>(
      'SELECT id, url, created_at, data FROM deployment ORDER BY created_at, id',
    );
    this.selectServices = db.prepare<[], ServiceRow>(
      'SELECT name, revision, deployment_id, data FROM service ORDER BY name',
    );
    this.upsertDeployment = db.prepare<[string, string, number, string]>(
      `INSERT INTO deployment (id, url, created_at, data) VALUES (?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET url = excluded.url, created_at = excluded.created_at, data = excluded.data`,
    );
    this.deleteDeployment = db.prepare<[string]>('DELETE FROM deployment WHERE id = ?');
    this.upsertService = db.prepare<[string, number, string, string]>(
      `INSERT INTO service (name, revision, deployment_id, data) VALUES (?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET revision = excluded.revision,
         deployment_id = excluded.deployment_id, data = excluded.data`,
    );
    this.deleteService = db.prepare<[string]>('DELETE FROM service WHERE name = ?');
    this.applyChange = db.transaction((change: MetadataChange) => {
      for (const id of change.removeDeployments ?? []) this.deleteDeployment.run(id);
      for (const d of change.putDeployments ?? []) {
        this.upsertDeployment.run(d.id, d.url, d.createdAt, JSON.stringify(d.data));
      }
      for (const name of change.removeServices ?? []) this.deleteService.run(name);
      for (const s of change.putServices ?? []) {
        this.upsertService.run(s.name, s.revision, s.deploymentId, JSON.stringify(s.data));
      }
    });
  }

  load(): Promise<MetadataSnapshot> {
    return this.serialize(() => this.#load());
  }

  #load(): MetadataSnapshot {
    const deployments: DeploymentRecord[] = this.selectDeployments.all().map((r) => ({
      id: r.id,
      url: r.url,
      createdAt: r.created_at,
      data: JSON.parse(r.data) as JsonValue,
    }));
    const services: ServiceRecord[] = this.selectServices.all().map((r) => ({
      name: r.name,
      revision: r.revision,
      deploymentId: r.deployment_id,
      data: JSON.parse(r.data) as JsonValue,
    }));
    return { deployments, services };
  }

  commit(change: MetadataChange): Promise<void> {
    return this.serialize(() => {
      try {
        this.applyChange(change);
      } catch (err) {
        throw refusal(err) ?? err;
      }
    });
  }

  saveDeployment(deployment: DeploymentRecord, services: ServiceRecord[]): Promise<void> {
    return this.commit({ putDeployments: [deployment], putServices: services });
  }

  removeDeployment(id: string, services: { put: ServiceRecord[]; remove: string[] }): Promise<void> {
    return this.commit({ removeDeployments: [id], putServices: services.put, removeServices: services.remove });
  }
}
