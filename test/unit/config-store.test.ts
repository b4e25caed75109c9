import { describe, expect, it } from 'vitest';
import { ConfigError, compileConfig } from '../../src/config/index.ts';

function issues(input: Parameters<typeof compileConfig>[0]): readonly string[] {
  try {
    compileConfig(input);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('store settings', () => {
  it('SQLite in the data directory is the default, with the endure schema for PostgreSQL', () => {
    const c = compileConfig({});
    expect(c.store).toBeNull();
    expect(c.storeSchema).toBe('endure');
  });

  it('--store and --store-schema take a postgres URL and a schema; the flags win over ENDURE_STORE*', () => {
    const env = { ENDURE_STORE: 'postgres://env@127.0.0.1/env', ENDURE_STORE_SCHEMA: 'from_env' };
    expect(compileConfig({ env })).toMatchObject({ store: 'postgres://env@127.0.0.1/env', storeSchema: 'from_env' });
    const c = compileConfig({
      env,
      flags: { store: 'postgresql://u:p@db.example:6543/endure?sslmode=require', 'store-schema': 'tenant_1' },
    });
    expect(c.store).toBe('postgresql://u:p@db.example:6543/endure?sslmode=require');
    expect(c.storeSchema).toBe('tenant_1');
  });

  it('a store that is not a postgres URL, or a schema that is not a plain identifier, is refused by name', () => {
    for (const bad of ['mysql://127.0.0.1/db', '/var/lib/endure.db', 'postgres://', 'postgres:/nohost']) {
      expect(issues({ flags: { store: bad } })).toEqual([expect.stringMatching(/^--store: expected a postgres:\/\//)]);
    }
    expect(issues({ env: { ENDURE_STORE: 'sqlite:endure.db' } })).toEqual([expect.stringMatching(/^ENDURE_STORE: /)]);
    for (const bad of ['Endure', 'my-schema', '1st', 'a"; drop schema public; --', 'x'.repeat(64)]) {
      expect(issues({ flags: { storeSchema: bad } })).toEqual([expect.stringMatching(/^--store-schema: expected a lower-case SQL identifier/)]);
    }
  });

  it('a rejected store URL is not repeated in the error: it may carry a password', () => {
    const found = issues({ flags: { store: 'mysql://admin:hunter2-secret@db.example/endure' } });
    expect(found).toEqual([expect.stringMatching(/^--store: expected a postgres:\/\//)]);
    expect(found.join('\n')).not.toMatch(/hunter2-secret/);
  });
});
