import { type Kysely, sql } from 'kysely';

/*
 * Frozen: this migration must never change once released, and never import application code.
 *
 * Lockout state, shared by every node of a database:
 * - `login_failures`: a user's recent failed password logins (`failed_at`, epoch milliseconds,
 *   comma-separated, oldest first) and the end of its lock (`locked_until`, epoch ms; 0: none);
 * - `access_key_failures`: an access key's consecutive signature failures and the end of its lock.
 * A row goes with its user or key (on delete cascade). Neither table is identity data: exports
 * leave them out.
 *
 * On PostgreSQL, a change of the `lockout_version` setting (bumped by a transaction whose
 * lockout change other nodes must see) notifies the channel `tagplane_lockout` when that
 * transaction commits. SQLite needs nothing for that: a process sees other processes' commits
 * through `PRAGMA data_version` and reads the setting then.
 */
export function lockouts(dialect: 'sqlite' | 'postgres') {
  const pg = dialect === 'postgres';
  const text = pg ? 'text collate "C"' : 'text';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql
        .raw(
          `create table login_failures (
             user_id ${text} primary key references users (id) on delete cascade,
             failed_at text not null default '',
             locked_until bigint not null default 0)`,
        )
        .execute(db);
      await sql
        .raw(
          `create table access_key_failures (
             access_key ${text} primary key references access_keys (access_key) on delete cascade,
             failures integer not null default 0,
             locked_until bigint not null default 0)`,
        )
        .execute(db);
      if (!pg) return;
      await sql`create function tagplane_lockout_notify() returns trigger language plpgsql as $$
        begin
          if new.name = 'lockout_version' then
            perform pg_notify('tagplane_lockout', '');
          end if;
          return null;
        end
      $$`.execute(db);
      await sql`create trigger settings_lockout_notify
        after insert or update on settings
        for each row execute function tagplane_lockout_notify()`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      if (pg) {
        await sql`drop trigger if exists settings_lockout_notify on settings`.execute(db);
        await sql`drop function if exists tagplane_lockout_notify()`.execute(db);
      }
      await sql`drop table if exists access_key_failures`.execute(db);
      await sql`drop table if exists login_failures`.execute(db);
    },
  };
}
