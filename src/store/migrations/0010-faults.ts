import { type Kysely, sql } from 'kysely';

/*
 * Frozen: this migration must never change once released, and never import application code.
 *
 * Injected faults (the admin API's testing aid), kept in the store so that every node of a
 * database applies them: what a fault matches (`match`, JSON), the error it answers (`error`,
 * JSON, or null for a delay only), its delay, probability, how many times it may fire at most
 * (`max_count`, null: unlimited), how many times it has fired, and when it expires (`expires_at`,
 * epoch milliseconds, null: never). `seq` orders faults by creation (one more than the largest). `fired` is counted by one statement per firing, so a limit
 * holds exactly across nodes.
 *
 * On PostgreSQL, a change of the `fault_version` setting (bumped by every transaction that changes
 * the set of faults) notifies the channel `tagplane_faults` when that transaction commits. SQLite
 * needs nothing for that: a process sees other processes' commits through `PRAGMA data_version`
 * and reads the setting then.
 */
export function faults(dialect: 'sqlite' | 'postgres') {
  const pg = dialect === 'postgres';
  const text = pg ? 'text collate "C"' : 'text';
  const real = pg ? 'double precision' : 'real';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql
        .raw(
          `create table faults (
             id ${text} primary key,
             seq bigint not null,
             match text not null,
             error text,
             latency_ms integer not null default 0,
             probability ${real} not null default 1,
             max_count integer,
             fired integer not null default 0,
             ttl_s ${real},
             expires_at bigint,
             created_at bigint not null)`,
        )
        .execute(db);
      if (!pg) return;
      await sql`create function tagplane_fault_notify() returns trigger language plpgsql as $$
        begin
          if new.name = 'fault_version' then
            perform pg_notify('tagplane_faults', '');
          end if;
          return null;
        end
      $$`.execute(db);
      await sql`create trigger settings_fault_notify
        after insert or update on settings
        for each row execute function tagplane_fault_notify()`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      if (pg) {
        await sql`drop trigger if exists settings_fault_notify on settings`.execute(db);
        await sql`drop function if exists tagplane_fault_notify()`.execute(db);
      }
      await sql`drop table if exists faults`.execute(db);
    },
  };
}
