import { sql } from 'kysely';
import { afterAll, expect, it, vi } from 'vitest';
import { ensureDataset } from '../../bench/bulk-load.js';
import { DATASET } from '../../bench/query-dataset.js';
import { parseDatabaseUrl, Store } from '../../src/store/database.js';
import { createTestDatabase, type TestDatabase } from '../support/test-store.js';

/**
 * The benchmarks' bulk load (bench/query-load.ts) writes rows straight into the tables, dropping
 * and rebuilding keys and indexes on PostgreSQL: it must keep working as migrations add tables
 * that depend on them, and leave the schema exactly as the migrations made it.
 */

let db: TestDatabase | undefined;
afterAll(() => db?.drop());

/** Every table, key, constraint and index, as the database reports them. */
async function schemaOf(store: Store): Promise<unknown[]> {
  if (store.location.kind === 'sqlite') {
    return (
      await sql`select type, name, tbl_name, sql from sqlite_master order by name`.execute(store.db)
    ).rows;
  }
  const constraints = await sql`
    select conrelid::regclass::text as table, conname as name, pg_get_constraintdef(oid) as def
      from pg_constraint where connamespace = 'public'::regnamespace order by 1, 2`.execute(
    store.db,
  );
  const indexes = await sql`
    select tablename, indexname, indexdef from pg_indexes where schemaname = 'public'
     order by 1, 2`.execute(store.db);
  return [...constraints.rows, ...indexes.rows];
}

it('loads the dataset into the current schema and leaves every key and index as migrated', async () => {
  db = await createTestDatabase();
  const location = parseDatabaseUrl(db.url);
  const migrated = Store.open(location);
  await migrated.migrate();
  const before = await schemaOf(migrated);
  await migrated.close();

  // Its progress and messages are for a person at a terminal.
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  const loaded = await ensureDataset(location, 1000).finally(() => stderr.mockRestore());
  expect(loaded.resources).toBe(1000);

  const store = Store.open(location);
  try {
    expect(await schemaOf(store)).toEqual(before);
    const counts = await sql<{ resources: number | string; tags: number | string }>`
      select (select count(*) from resources where project_id = ${DATASET.projectId}) as resources,
             (select count(*) from tags where project_id = ${DATASET.projectId}) as tags`.execute(
      store.db,
    );
    expect(Number(counts.rows[0]!.resources)).toBe(1000);
    expect(Number(counts.rows[0]!.tags)).toBeGreaterThan(1000);
  } finally {
    await store.close();
  }
});
