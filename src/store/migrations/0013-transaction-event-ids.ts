import { type Kysely, sql } from 'kysely';

/*
 * Frozen: this migration must never change once released, and never import application code.
 *
 * PostgreSQL: event ids, and the notification of new events, without a lock held to the commit. Migration 0009 drew each id from a
 * sequence under a transaction-level advisory lock, so ids were in commit order, but every
 * transaction that appended events waited for the one before to commit (its fsync included).
 * SQLite is unchanged: its one writer at a time already hands out ids in commit order.
 *
 * An event's id is `base + xid × 2^20 + n`: `xid` is the writing transaction's id
 * (`pg_current_xact_id()`, 64 bits, never reused), `n` (1 … 2^20 − 1) the event's place among
 * that transaction's events (a transaction-local setting, undone with a rolled-back savepoint),
 * and `base` (a multiple of 2^20, one row in `events_id_base`) sets where this database's ids
 * start. Ids are unique and strictly increase with the xid, but a transaction with a smaller xid
 * may commit after one with a larger. What a reader tailing the log relies on instead:
 *
 * - The horizon. `tagplane_event_horizon()` is `base + xmin × 2^20`, where `xmin` is the
 *   smallest xid still running in the statement's snapshot (`pg_snapshot_xmin`). Every
 *   transaction with a smaller xid has ended, so every event below the horizon is final: visible
 *   to the statement, or rolled back and never to be. Every transaction that commits later has
 *   an xid of at least `xmin`, so its events lie above the horizon. A reader that takes, in one
 *   statement, only the events below the horizon (ascending reads: the live feed, `since`
 *   paging) and goes on from the last id it took never skips one that commits later. Events
 *   above it are committed but held back until every older transaction has ended. Only
 *   transactions that have written something have an xid; xids are the whole server's, so a
 *   long write transaction in any database of the server holds the horizon back meanwhile.
 * - One resource's events are in the order their changes took effect. A change of a resource
 *   reads and writes it under its row lock; a transaction that took its xid before waiting for
 *   that lock (one that changes several resources, or wrote something before) would give its
 *   event a smaller id than the change it waited for. The trigger refuses that as a
 *   serialization failure (40001): the transaction runs again with a new, larger xid. So an
 *   as-of read, which undoes a resource's events by id, and a follower replaying them agree
 *   with the order of the changes.
 * - The base. This migration, holding off every writer of the log (`lock table`), sets it so
 *   that every new id is larger than every id present, whatever the server's xids are: new ids
 *   start near the old ones (not at the server's xid age × 2^20), which keeps them below 2^53,
 *   the largest integer clients read exactly, for about 8·10^9 write transactions of the server.
 *   A restore inserts events with their ids and then calls `tagplane_event_rebase()`, which
 *   moves the base (never back) past every id present.
 * - A transaction may append at most 2^20 − 1 events; past that its insert fails (54000).
 *
 * The trigger of 0009 that notified `tagplane_events` from inside each transaction appending
 * events goes as well: PostgreSQL queues notifications in commit order under one lock held from
 * before the commit until it is durable, so it serialised those commits just as the id lock did.
 * The application notifies after its commit instead, outside the transaction.
 */
export function transactionEventIds(dialect: 'sqlite' | 'postgres') {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      if (dialect !== 'postgres') return;
      // Writers that drew an id from the sequence have committed once this lock is granted; new
      // ones wait for this migration's commit and then take the new trigger.
      await sql`lock table events in exclusive mode`.execute(db);
      await sql`create table events_id_base (
          one boolean primary key default true check (one),
          base bigint not null
        )`.execute(db);
      await sql`insert into events_id_base (base) values (-9223372036854775808)`.execute(db);
      await sql`create function tagplane_event_rebase() returns void language sql as $$
          update events_id_base set base = greatest(base,
            ((coalesce((select max(id) from events), 0) / 1048576) + 1
              - pg_snapshot_xmin(pg_current_snapshot())::text::bigint) * 1048576)
        $$`.execute(db);
      await sql`select tagplane_event_rebase()`.execute(db);
      await sql`create function tagplane_event_horizon() returns bigint language sql stable as $$
          select base + pg_snapshot_xmin(pg_current_snapshot())::text::bigint * 1048576
          from events_id_base
        $$`.execute(db);
      await sql`create or replace function tagplane_event_id() returns trigger
        language plpgsql as $$
        declare
          v_id bigint;
        begin
          if new.id is not null then
            return new;
          end if;
          v_id := nullif(current_setting('tagplane.event_next', true), '')::bigint;
          if v_id is null then
            select base + pg_current_xact_id()::text::bigint * 1048576 + 1 into v_id
            from events_id_base;
          elsif v_id % 1048576 = 0 then
            raise exception 'a transaction may append at most 1048575 events'
              using errcode = 'program_limit_exceeded';
          end if;
          if exists (select 1 from events e
                     where e.project_id = new.project_id
                       and e.resource_type = new.resource_type
                       and e.resource_id = new.resource_id
                       and e.id > v_id) then
            raise exception 'a later transaction has appended an event of % % in project %',
                new.resource_type, new.resource_id, new.project_id
              using errcode = 'serialization_failure';
          end if;
          perform set_config('tagplane.event_next', (v_id + 1)::text, true);
          new.id := v_id;
          return new;
        end
      $$`.execute(db);
      await sql`drop sequence events_id_seq`.execute(db);
      await sql`drop trigger events_notify on events`.execute(db);
      await sql`drop function tagplane_events_notify()`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      if (dialect !== 'postgres') return;
      await sql`lock table events in exclusive mode`.execute(db);
      await sql`create sequence events_id_seq`.execute(db);
      await sql`select setval('events_id_seq', coalesce((select max(id) from events), 0) + 1,
        false)`.execute(db);
      await sql`create or replace function tagplane_event_id() returns trigger
        language plpgsql as $$
        begin
          if new.id is null then
            perform pg_advisory_xact_lock(7461676001);
            new.id := nextval('events_id_seq');
          end if;
          return new;
        end
      $$`.execute(db);
      await sql`create function tagplane_events_notify() returns trigger language plpgsql as $$
          begin
            perform pg_notify('tagplane_events', '');
            return null;
          end
        $$`.execute(db);
      await sql`create trigger events_notify after insert on events
          for each statement execute function tagplane_events_notify()`.execute(db);
      await sql`drop function if exists tagplane_event_horizon()`.execute(db);
      await sql`drop function if exists tagplane_event_rebase()`.execute(db);
      await sql`drop table if exists events_id_base`.execute(db);
    },
  };
}
