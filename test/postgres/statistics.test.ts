import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applySeed } from '../../src/admin/seed.js';
import { SecretBox } from '../../src/auth/secret-box.js';
import { readSeedDocument } from '../../src/http/seed-schema.js';
import { openTestStore, type TestStore } from '../support/test-store.js';

/**
 * PostgreSQL plans from statistics. Right after a bulk load and before any ANALYZE it takes the
 * tables for empty, and looked a resource up for a write by scanning the whole project. A large
 * seed gathers statistics, so the lookup uses the unique index.
 */
describe('planner statistics after a large seed', () => {
  let ts: TestStore;
  beforeAll(async () => {
    ts = await openTestStore('postgres');
  });
  afterAll(() => ts.close());

  it('looks a resource up by its unique index after seeding 2,000 resources', async () => {
    await applySeed(
      ts.store,
      new SecretBox(randomBytes(32)),
      readSeedDocument({
        domains: [{ id: 'd-stats', name: 'd-stats' }],
        projects: [{ id: 'p-stats', name: 'eu-de', domain_id: 'd-stats' }],
        resources: Array.from({ length: 2000 }, (_, i) => ({
          project_id: 'p-stats',
          type: 'bms_server',
          id: `srv-${i}`,
          tags: [{ key: 'env', value: 'dev' }],
        })),
      }),
    );
    const { rows } = await sql<{ 'QUERY PLAN': string }>`explain select * from resources
      where project_id = 'p-stats' and resource_type = 'bms_server' and resource_id = 'srv-7'
      for update`.execute(ts.store.db);
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(plan).toContain('resources_ref');
  });
});
