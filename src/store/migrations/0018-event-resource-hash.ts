import { type Kysely, sql } from 'kysely';

/*
 * Frozen: this migration must never change once released, and never import application code.
 *
 * PostgreSQL only (SQLite has no `events_resource` since 0014).
 *
 * `events_resource` (project, type, resource, id) held about 100 bytes per event, and each
 * appended event went to a random place in it: after every checkpoint the first change of each
 * of its leaf pages is logged whole, so the index wrote more WAL per write than the event's own
 * row. `events_resource_hash` is keyed by a 64-bit hash of the resource id and the event id (24
 * bytes an entry): a fifth of the size, so a fifth of the leaf pages for the same events. Other
 * resources may share a hash (the same id in another project or type, or a collision), so every
 * read by resource names the hash for the index and the resource itself for the rows.
 *
 * The hash is the first 64 bits of the id's MD5, `('x' || left(md5(resource_id), 16))::bit(64)
 * ::bigint`: built from documented functions whose results are fixed, so an index kept across a
 * major upgrade of the server still matches what reads compute. (PostgreSQL's own `hashtext`
 * family is internal, and its results may change between major versions.) The trigger's order
 * check (0013) goes through the new index; it is otherwise unchanged.
 */
/** The 64-bit key of a resource id: the first half of its MD5, as a signed integer. */
const hash = (text: string) => `(('x' || left(md5(${text}), 16))::bit(64)::bigint)`;

const orderCheck = (resourceMatch: string) => `create or replace function tagplane_event_id()
  returns trigger language plpgsql as $$
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
               where ${resourceMatch}
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
    return new;
  end
$$`;

export function eventResourceHash(dialect: 'sqlite' | 'postgres') {
  const pg = dialect === 'postgres';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      if (!pg) return;
      await sql
        .raw(`create index events_resource_hash on events (${hash('resource_id')}, id)`)
        .execute(db);
      await sql
        .raw(orderCheck(`${hash('e.resource_id')} = ${hash('new.resource_id')}`))
        .execute(db);
      await sql`drop index if exists events_resource`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      if (!pg) return;
      await sql`create index events_resource on events
          (project_id, resource_type, resource_id, id)`.execute(db);
      await sql.raw(orderCheck('true')).execute(db);
      await sql`drop index if exists events_resource_hash`.execute(db);
    },
  };
}
