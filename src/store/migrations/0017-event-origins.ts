import { type Kysely, sql } from 'kysely';

/*
 * Frozen: this migration must never change once released, and never import application code.
 *
 * SQLite only; PostgreSQL keeps `events` as a table and is left as it is.
 *
 * The fields an event shares with the other events of its request and of the requests like it
 * (its domain, project, resource type, service, operation, principal and source address) are
 * kept once, in `event_origins`, and each event keeps what is its own in `event_rows`: its id,
 * time, origin, resource, request and changes. Measured in the write benchmark, the log's rows
 * weighed on each group commit by their size; this halves it.
 *
 * `events` becomes a view of the two with the columns it had, so that every read of the log is
 * unchanged. Inserting into it, or deleting from it, does the same to `event_rows` (and adds
 * the origin when it is new): exports, imports and retention go on as before. The application's
 * group commits insert into `event_rows` directly. In `event_origins` a missing user or access
 * key is '' (ids and names are never empty), so that one origin is one row of the unique index;
 * the view gives back null.
 *
 * Ids are kept: `event_rows` has AUTOINCREMENT too, and starts past the largest id `events` ever
 * gave. The deferred indexes (0014, 0015) keep pointing at the same ids.
 */
export function eventOrigins(dialect: 'sqlite' | 'postgres') {
  const sqlite = dialect === 'sqlite';
  const originColumns = [
    'domain_id',
    'project_id',
    'resource_type',
    'service',
    'operation',
    'principal_type',
    'user_id',
    'user_name',
    'access_key',
    'source_ip',
  ];
  const nullable = new Set(['user_id', 'user_name', 'access_key']);
  const stored = (prefix: string, c: string) =>
    nullable.has(c) ? `coalesce(${prefix}${c}, '')` : `${prefix}${c}`;
  const sameOrigin = (prefix: string) =>
    originColumns.map((c) => `o.${c} = ${stored(prefix, c)}`).join(' and ');
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      if (!sqlite) return;
      await sql
        .raw(`create table event_origins (
          id integer primary key,
          ${originColumns.map((c) => `${c} text not null`).join(',\n          ')}
        )`)
        .execute(db);
      await sql
        .raw(`create unique index event_origins_all on event_origins (${originColumns.join(', ')})`)
        .execute(db);
      await sql`create table event_rows (
          id integer primary key autoincrement,
          time text not null,
          origin_id integer not null,
          resource_id text not null,
          request_id text not null,
          changes text not null
        )`.execute(db);
      await sql
        .raw(`insert or ignore into event_origins (${originColumns.join(', ')})
          select ${originColumns.map((c) => stored('', c)).join(', ')} from events`)
        .execute(db);
      await sql
        .raw(`insert into event_rows (id, time, origin_id, resource_id, request_id, changes)
          select e.id, e.time, o.id, e.resource_id, e.request_id, e.changes
          from events e join event_origins o on ${sameOrigin('e.')}
          order by e.id`)
        .execute(db);
      // The largest id ever given, which may be past the largest still present.
      await sql`insert into sqlite_sequence (name, seq)
          select 'event_rows', 0
          where not exists (select 1 from sqlite_sequence where name = 'event_rows')`.execute(db);
      await sql`update sqlite_sequence set seq = max(seq,
          coalesce((select seq from sqlite_sequence where name = 'events'), 0))
          where name = 'event_rows'`.execute(db);
      await sql`drop table events`.execute(db);
      await sql
        .raw(`create view events as
          select r.id, r.time, o.domain_id, o.project_id, o.resource_type, r.resource_id,
                 o.service, o.operation, o.principal_type, nullif(o.user_id, '') as user_id,
                 nullif(o.user_name, '') as user_name, nullif(o.access_key, '') as access_key,
                 o.source_ip, r.request_id, r.changes
          from event_rows r cross join event_origins o on o.id = r.origin_id`)
        .execute(db);
      await sql
        .raw(`create trigger events_insert instead of insert on events begin
          insert or ignore into event_origins (${originColumns.join(', ')})
            values (${originColumns.map((c) => stored('new.', c)).join(', ')});
          insert into event_rows (id, time, origin_id, resource_id, request_id, changes)
            values (new.id, new.time,
              (select o.id from event_origins o where ${sameOrigin('new.')}),
              new.resource_id, new.request_id, new.changes);
        end`)
        .execute(db);
      await sql`create trigger events_delete instead of delete on events begin
          delete from event_rows where id = old.id;
        end`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      if (!sqlite) return;
      await sql`drop view if exists events`.execute(db);
      await sql`create table events (id integer primary key autoincrement,
         time text not null, domain_id text not null, project_id text not null,
         resource_type text not null, resource_id text not null, service text not null,
         operation text not null, principal_type text not null, user_id text, user_name text,
         access_key text, source_ip text not null, request_id text not null,
         changes text not null)`.execute(db);
      await sql`insert into events
          select r.id, r.time, o.domain_id, o.project_id, o.resource_type, r.resource_id,
                 o.service, o.operation, o.principal_type, nullif(o.user_id, ''),
                 nullif(o.user_name, ''), nullif(o.access_key, ''), o.source_ip, r.request_id,
                 r.changes
          from event_rows r join event_origins o on o.id = r.origin_id order by r.id`.execute(db);
      await sql`insert into sqlite_sequence (name, seq)
          select 'events', 0
          where not exists (select 1 from sqlite_sequence where name = 'events')`.execute(db);
      await sql`update sqlite_sequence set seq = max(seq,
          coalesce((select seq from sqlite_sequence where name = 'event_rows'), 0))
          where name = 'events'`.execute(db);
      await sql`drop table event_rows`.execute(db);
      await sql`drop table event_origins`.execute(db);
    },
  };
}
