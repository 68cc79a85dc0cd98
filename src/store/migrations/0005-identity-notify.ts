import { type Kysely, sql } from 'kysely';

/*
 * Frozen: this migration must never change once released, and never import application code.
 *
 * Nodes cache identity data (users, projects, access keys). On PostgreSQL, a change of the
 * `identity_version` setting (bumped by every transaction that changes identity data) notifies
 * the channel `tagplane_identity` when that transaction commits, and every node listening drops
 * its cache. SQLite needs nothing here: a process sees other processes' commits through
 * `PRAGMA data_version` and reads the setting then.
 */
export function identityNotify(dialect: 'sqlite' | 'postgres') {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      if (dialect !== 'postgres') return;
      await sql`create function tagplane_identity_notify() returns trigger language plpgsql as $$
        begin
          if new.name = 'identity_version' then
            perform pg_notify('tagplane_identity', '');
          end if;
          return null;
        end
      $$`.execute(db);
      await sql`create trigger settings_identity_notify
        after insert or update on settings
        for each row execute function tagplane_identity_notify()`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      if (dialect !== 'postgres') return;
      await sql`drop trigger if exists settings_identity_notify on settings`.execute(db);
      await sql`drop function if exists tagplane_identity_notify()`.execute(db);
    },
  };
}
