import { type Kysely, sql } from 'kysely';

/*
 * Frozen: this migration must never change once released, and never import application code.
 *
 * SQLite only; PostgreSQL keeps `events_resource` and is left as it is.
 *
 * On SQLite `events_resource` (project, type, resource, id) took one insert at a random place of
 * its B-tree per appended event, so every group commit wrote one more page to the WAL per write.
 * It is replaced by `event_resource_index`, filled in the background in batches (a batch touches
 * each of its pages once, however many of its events land there): `resource_key` is a 32-bit
 * hash of the resource id (the application's `resourceKey`; rows it finds are checked against the
 * event itself, so a collision costs a row read, never a wrong answer), `event_id` the event.
 * `event_index_mark.indexed_through` is the id up to which every event is in the index; readers
 * take the index up to it and scan the log after it by id.
 *
 * Neither table is exported: an import rebuilds the index, and a database migrated here starts
 * with an empty index and the mark at 0, which the indexer catches up from.
 */
export function eventResourceIndex(dialect: 'sqlite' | 'postgres') {
  const sqlite = dialect === 'sqlite';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      if (!sqlite) return;
      await sql`drop index if exists events_resource`.execute(db);
      await sql`create table event_resource_index (
          resource_key integer not null,
          event_id integer not null,
          primary key (resource_key, event_id)
        ) without rowid`.execute(db);
      await sql`create table event_index_mark (
          one integer primary key check (one = 1),
          indexed_through integer not null
        )`.execute(db);
      await sql`insert into event_index_mark (one, indexed_through) values (1, 0)`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      if (!sqlite) return;
      await sql`drop table if exists event_index_mark`.execute(db);
      await sql`drop table if exists event_resource_index`.execute(db);
      await sql`create index if not exists events_resource
          on events (project_id, resource_type, resource_id, id)`.execute(db);
    },
  };
}
