import { type Kysely, sql } from 'kysely';

/*
 * Frozen: this migration must never change once released, and never import application code.
 *
 * PostgreSQL only (SQLite gives event ids by AUTOINCREMENT and has no trigger, and keeps its
 * per-resource index apart from the writes since 0014).
 *
 * Three costs PostgreSQL paid again for every statement appending an event go:
 *
 * - The per-resource index's expression. `events_resource_hash` (0018) was an index on an
 *   expression, which PostgreSQL plans afresh for each statement that inserts into the table,
 *   before computing it (an MD5) for each row. The key is now a column of its own,
 *   `resource_key`, with the same value; the index `events_resource_key (resource_key, id)` is on
 *   the column. The table is rewritten once to fill it (its indexes are rebuilt, and nothing is
 *   left behind for vacuum).
 * - The insert trigger. The table is now `event_log`, with no trigger at all, and `events` is a
 *   view of it with the same columns, which every read, delete and insert of before still goes
 *   through. An insert into the view takes its id and key, and the order check, from an INSTEAD
 *   OF trigger (`tagplane_events_insert`, the work of 0013's `tagplane_event_id`, which it no
 *   longer calls), which then inserts the row into `event_log`. A trigger on the table itself,
 *   even one whose `WHEN` is false, is read and prepared again for every statement.
 * - So an event that comes with its id and key goes straight into `event_log`. The application
 *   gives both to the first event of a transaction that took the resource's row lock (`SELECT …
 *   FOR UPDATE`) before it had an xid: the id `base + xid × 2^20`, the place `n = 0`, which the
 *   trigger never gives (it gives 1 … 2^20 − 1). That event needs no order check. Every
 *   transaction that appends an event of a resource holds the resource's row lock, and one that
 *   held it before this one ended before this one took it; the xid is given after the lock is
 *   granted, so it is larger than the xid of every earlier change of the resource, and so is the
 *   event's id. Every other event is inserted into the view. Ids stay unique: a transaction has
 *   one `n = 0`. The horizon is unchanged: `base + xmin × 2^20` is the smallest id an unfinished
 *   transaction can hold, and readers take only the ids below it.
 *
 * Processes of the previous version, still running during a rolling upgrade, insert into and
 * read `events` as before.
 */
/** The 64-bit key of a resource id: the first half of its MD5, as a signed integer (0018's). */
const hash = (text: string) => `(('x' || left(md5(${text}), 16))::bit(64)::bigint)`;

const INSTEAD_OF_INSERT = `create function tagplane_events_insert() returns trigger
  language plpgsql as $$
  declare
    v_id bigint;
  begin
    if new.resource_key is null then
      new.resource_key := ${hash('new.resource_id')};
    end if;
    if new.id is null then
      v_id := nullif(current_setting('tagplane.event_next', true), '')::bigint;
      if v_id is null then
        select base + pg_current_xact_id()::text::bigint * 1048576 + 1 into v_id
        from events_id_base;
      elsif v_id % 1048576 = 0 then
        raise exception 'a transaction may append at most 1048575 events'
          using errcode = 'program_limit_exceeded';
      end if;
      if exists (select 1 from event_log e
                 where e.resource_key = new.resource_key
                   and e.project_id = new.project_id
                   and e.resource_type = new.resource_type
                   and e.resource_id = new.resource_id
                   and e.id > v_id) then
        raise exception 'a later transaction has appended an event of % % in project %',
            new.resource_type, new.resource_id, new.project_id
          using errcode = 'serialization_failure';
      end if;
      perform set_config('tagplane.event_next', (v_id + 1)::text, true);
      new.id := v_id;
    end if;
    insert into event_log values (new.*);
    return new;
  end
$$`;

export function eventResourceKey(dialect: 'sqlite' | 'postgres') {
  const pg = dialect === 'postgres';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      if (!pg) return;
      await sql`lock table events in exclusive mode`.execute(db);
      await sql`drop index events_resource_hash`.execute(db);
      await sql`drop trigger events_id on events`.execute(db);
      await sql`alter table events add column resource_key bigint`.execute(db);
      // An expression other than the column itself rewrites the table, filling every row.
      await sql
        .raw(`alter table events
          alter column resource_key type bigint using ${hash('resource_id')},
          alter column resource_key set not null`)
        .execute(db);
      await sql`create index events_resource_key on events (resource_key, id)`.execute(db);
      await sql`alter table events rename to event_log`.execute(db);
      // The view's columns are the table's, in its order (the trigger inserts `new.*`).
      await sql`create view events as select * from event_log`.execute(db);
      await sql.raw(INSTEAD_OF_INSERT).execute(db);
      await sql`create trigger events_insert instead of insert on events
          for each row execute function tagplane_events_insert()`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      if (!pg) return;
      await sql`lock table event_log in exclusive mode`.execute(db);
      await sql`drop view events`.execute(db);
      await sql`drop function tagplane_events_insert()`.execute(db);
      await sql`alter table event_log rename to events`.execute(db);
      await sql`create trigger events_id before insert on events
          for each row execute function tagplane_event_id()`.execute(db);
      await sql
        .raw(`create index events_resource_hash on events (${hash('resource_id')}, id)`)
        .execute(db);
      await sql`alter table events drop column resource_key`.execute(db);
    },
  };
}
