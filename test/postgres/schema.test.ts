import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, type TestStore } from '../support/test-store.js';

/**
 * The schema stays ready to be distributed by project (Citus, YugabyteDB): every key and B-tree
 * index of the tenant tables leads with project_id, so every unique one contains the
 * distribution column. (The trigram index on resource names is a per-shard GIN index.)
 */
describe('PostgreSQL schema', () => {
  let ts: TestStore;
  beforeAll(async () => {
    ts = await openTestStore('postgres');
  });
  afterAll(() => ts.close());

  it('leads every key and B-tree index of the tenant tables with project_id', async () => {
    const { rows } = await sql<{ table: string; name: string; method: string; columns: string[] }>`
      select t.relname as table, i.relname as name, am.amname as method,
        array(select a.attname from unnest(ix.indkey) with ordinality k(attnum, n)
              join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum
              order by k.n)::text[] as columns
      from pg_index ix
      join pg_class t on t.oid = ix.indrelid
      join pg_class i on i.oid = ix.indexrelid
      join pg_am am on am.oid = i.relam
      where t.relname in ('resources', 'tags', 'resource_attributes')
        and t.relnamespace = 'public'::regnamespace
      order by 1, 2`.execute(ts.store.db);
    const btree = rows.filter((r) => r.method === 'btree');
    expect(btree.length).toBeGreaterThanOrEqual(6);
    expect(rows.find((r) => r.name === 'resource_attributes_pkey')?.columns).toEqual([
      'project_id',
      'rid',
      'name',
    ]);
    for (const r of btree) {
      expect(r.columns[0], `${r.table}.${r.name} (${r.columns.join(', ')})`).toBe('project_id');
    }
    expect(rows.filter((r) => r.method !== 'btree').map((r) => r.name)).toEqual(
      rows.some((r) => r.name === 'resources_name_trgm') ? ['resources_name_trgm'] : [],
    );
    expect(rows.find((r) => r.name === 'resources_pkey')?.columns).toEqual(['project_id', 'rid']);
  });
});
