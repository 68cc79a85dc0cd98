import { type Kysely, sql } from 'kysely';

/*
 * Frozen: this migration must never change once released, and never import application code.
 *
 * `events`: the change log, one row per changed resource, appended in the transaction of the
 * change. `changes` is the JSON array of the tag changes; `principal_*` who made them.
 *
 * Ids strictly increase in commit order, so a reader tailing `id > last seen` never skips an
 * event that commits later with a smaller id:
 * - SQLite has one writer at a time: ids are allocated and committed in the same order.
 *   AUTOINCREMENT keeps an id from being used again after the newest events are removed.
 * - PostgreSQL: a sequence alone hands out ids in the order transactions ask, not the order they
 *   commit, so a reader could see id 11 before id 10 commits. A trigger takes a transaction-level
 *   advisory lock before it draws the id; the lock is held until the transaction has committed
 *   and become visible. A transaction drawing a later id therefore waits until every one that
 *   drew an earlier id has ended, and once a reader sees an id, every smaller id is either visible
 *   too or never will be (rolled back). The application appends events as the last statement of
 *   a write transaction, so the lock covers the commit only. (A restore inserts events with
 *   their ids: those are kept, and the restore moves the sequence past them.)
 *   The statement-level trigger notifies `tagplane_events` at commit, for the nodes following
 *   the log.
 */
export function changeLog(dialect: 'sqlite' | 'postgres') {
  const pg = dialect === 'postgres';
  const text = pg ? 'text collate "C"' : 'text';
  const columns = `
       time text not null,
       domain_id ${text} not null,
       project_id ${text} not null,
       resource_type ${text} not null,
       resource_id ${text} not null,
       service ${text} not null,
       operation ${text} not null,
       principal_type ${text} not null,
       user_id ${text},
       user_name ${text},
       access_key ${text},
       source_ip text not null,
       request_id text not null,
       changes text not null`;
  const up = pg
    ? [
        'create sequence events_id_seq',
        `create table events (id bigint primary key, ${columns})`,
        `create function tagplane_event_id() returns trigger language plpgsql as $$
           begin
             if new.id is null then
               perform pg_advisory_xact_lock(7461676001);
               new.id := nextval('events_id_seq');
             end if;
             return new;
           end
         $$`,
        `create trigger events_id before insert on events
           for each row execute function tagplane_event_id()`,
        `create function tagplane_events_notify() returns trigger language plpgsql as $$
           begin
             perform pg_notify('tagplane_events', '');
             return null;
           end
         $$`,
        `create trigger events_notify after insert on events
           for each statement execute function tagplane_events_notify()`,
      ]
    : [`create table events (id integer primary key autoincrement, ${columns})`];
  up.push(
    'create index events_resource on events (project_id, resource_type, resource_id, id)',
    'create index events_project on events (project_id, id)',
    'create index events_time on events (time)',
  );

  return {
    async up(db: Kysely<unknown>): Promise<void> {
      for (const s of up) await sql.raw(s).execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`drop table if exists events`.execute(db);
      if (pg) {
        await sql`drop function if exists tagplane_event_id()`.execute(db);
        await sql`drop function if exists tagplane_events_notify()`.execute(db);
        await sql`drop sequence if exists events_id_seq`.execute(db);
      }
    },
  };
}
