import { type Kysely, sql } from 'kysely';

/*
 * Frozen: this migration must never change once released, and never import application code.
 *
 * On PostgreSQL the resources table is keyed by (project_id, rid) instead of rid alone, so every
 * key of the tenant tables (resources, tags) leads with project_id and they can be distributed by
 * project (Citus requires the distribution column in every primary key and unique index). rid
 * stays unique: it comes from the identity sequence. Every query names the project anyway.
 *
 * On SQLite nothing changes: rid is the table's rowid there, which is what allocates it in
 * registration order, and a SQLite database is never distributed.
 */
export function resourcesKeyByProject(dialect: 'sqlite' | 'postgres') {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      if (dialect !== 'postgres') return;
      await sql`alter table resources drop constraint resources_pkey`.execute(db);
      await sql`alter table resources add constraint resources_pkey primary key (project_id, rid)`.execute(
        db,
      );
    },
    async down(db: Kysely<unknown>): Promise<void> {
      if (dialect !== 'postgres') return;
      await sql`alter table resources drop constraint resources_pkey`.execute(db);
      await sql`alter table resources add constraint resources_pkey primary key (rid)`.execute(db);
    },
  };
}
