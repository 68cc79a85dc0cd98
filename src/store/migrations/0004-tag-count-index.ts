import { type Kysely, sql } from 'kysely';

/*
 * Frozen: this migration must never change once released, and never import application code.
 *
 * PostgreSQL: an index on tags (project_id, resource_type, key, value), without rid, for counting
 * the resources having key=value. `tags_kv` serves that too, but holds one entry per tag; without
 * rid in the key, PostgreSQL (13 and later) keeps one entry per distinct value holding the list
 * of its rows (B-tree deduplication), about a tenth of the size, and an index-only count reads
 * that much less: 332,883 rows of one value counted in 14 ms instead of 39 ms (1,000,000
 * resources × 10 tags, docs/benchmarks.md). The query store still walks `tags_kv` wherever it
 * needs rids in order; the planner takes this one for plain counts.
 *
 * The build blocks writes to tags (not reads) while it runs: about 30 s per 10,000,000 tags on
 * the development machine.
 *
 * SQLite: nothing. Its secondary indexes on a WITHOUT ROWID table carry the primary key, so such
 * an index would be tags_kv again.
 */
export function tagCountIndex(dialect: 'sqlite' | 'postgres') {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      if (dialect !== 'postgres') return;
      await sql`create index tags_count on tags (project_id, resource_type, key, value)`.execute(
        db,
      );
    },
    async down(db: Kysely<unknown>): Promise<void> {
      if (dialect !== 'postgres') return;
      await sql`drop index if exists tags_count`.execute(db);
    },
  };
}
