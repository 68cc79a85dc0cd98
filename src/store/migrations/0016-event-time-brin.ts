import { type Kysely, sql } from 'kysely';

/*
 * Frozen: this migration must never change once released, and never import application code.
 *
 * PostgreSQL only (SQLite has no `events_time` since 0015).
 *
 * `events_time` was a B-tree: one more index entry for every appended event. Events are
 * appended in time order, give or take the moments between a request's start and its commit, so
 * the table's blocks follow time closely, and a BRIN index (the smallest and largest time of each
 * range of blocks) serves what reads by time need (retention's oldest events, a time span of the
 * events list) at a fraction of the cost to each write: an entry is added only when a range
 * of blocks fills, or widened when an event falls outside its range's times.
 */
export function eventTimeBrin(dialect: 'sqlite' | 'postgres') {
  const pg = dialect === 'postgres';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      if (!pg) return;
      await sql`drop index if exists events_time`.execute(db);
      await sql`create index events_time on events using brin (time) with (autosummarize = on)`.execute(
        db,
      );
    },
    async down(db: Kysely<unknown>): Promise<void> {
      if (!pg) return;
      await sql`drop index if exists events_time`.execute(db);
      await sql`create index events_time on events (time)`.execute(db);
    },
  };
}
