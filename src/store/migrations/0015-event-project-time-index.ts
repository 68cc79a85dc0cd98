import { type Kysely, sql } from 'kysely';

/*
 * Frozen: this migration must never change once released, and never import application code.
 *
 * SQLite only; PostgreSQL keeps `events_project` and `events_time` and is left as it is.
 *
 * On SQLite each of `events_project` (project, id) and `events_time` (time) took one insert per
 * appended event, so every group commit wrote a page of each to the WAL, and the change log
 * cost every write a fifth of its throughput. Like `events_resource` in 0014, they are replaced
 * by tables the indexer fills in the background in batches:
 * `event_project_index` (`project_key`, a 32-bit hash of the project id, the application's
 * `indexKey`; rows it finds are checked against the event) and `event_time_index` (the event's
 * time as stored). All three are complete up to a new mark, `event_indexes_mark`, which starts
 * at 0, so that the indexer fills the new tables from the start of the log (it skips the rows
 * `event_resource_index` already holds). `event_index_mark` (0014) is left to processes of the
 * previous version still running during a rolling upgrade, and is no longer read.
 *
 * Neither table is exported: an import rebuilds them.
 */
export function eventProjectTimeIndex(dialect: 'sqlite' | 'postgres') {
  const sqlite = dialect === 'sqlite';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      if (!sqlite) return;
      await sql`drop index if exists events_project`.execute(db);
      await sql`drop index if exists events_time`.execute(db);
      await sql`create table event_project_index (
          project_key integer not null,
          event_id integer not null,
          primary key (project_key, event_id)
        ) without rowid`.execute(db);
      await sql`create table event_time_index (
          time text not null,
          event_id integer not null,
          primary key (time, event_id)
        ) without rowid`.execute(db);
      // A mark of their own, from 0: a process of the previous version still running during a
      // rolling upgrade moves the old mark (0014's), which no longer says what is indexed here.
      await sql`create table event_indexes_mark (
          one integer primary key check (one = 1),
          indexed_through integer not null
        )`.execute(db);
      await sql`insert into event_indexes_mark (one, indexed_through) values (1, 0)`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      if (!sqlite) return;
      await sql`drop table if exists event_indexes_mark`.execute(db);
      await sql`drop table if exists event_time_index`.execute(db);
      await sql`drop table if exists event_project_index`.execute(db);
      await sql`create index if not exists events_project on events (project_id, id)`.execute(db);
      await sql`create index if not exists events_time on events (time)`.execute(db);
    },
  };
}
