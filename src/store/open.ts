import type { OpenStoreOptions, StoreBackend, StoreLocation } from './backend.ts';
import { openPostgresBackend } from './postgres/backend.ts';
import { openSqliteBackend } from './sqlite/backend.ts';

/** Opens the backend at `location`, creating and migrating its schema if needed. */
export async function openStore(location: StoreLocation, options: OpenStoreOptions = {}): Promise<StoreBackend> {
  switch (location.kind) {
    case 'sqlite':
      return openSqliteBackend(location.path, options);
    case 'postgres':
      return openPostgresBackend(location);
  }
}
