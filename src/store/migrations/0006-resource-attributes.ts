import { type Kysely, sql } from 'kysely';

/*
 * Frozen: this migration must never change once released, and never import application code.
 *
 * `resource_attributes`: named values a resource holds besides its tags (MRS: whether a
 * cluster's default tags are switched on), one row per resource and name. They belong to the
 * resource: a foreign key with ON DELETE CASCADE drops them with it, however it goes
 * (deregistration, a reset, a project removed), so no code path can leave one behind.
 *
 * - PostgreSQL: keyed by (project_id, rid, name) like the other tenant tables, and the foreign
 *   key names the project too, so the table can be distributed by project with `resources`.
 * - SQLite: the same key; the foreign key references the rowid `rid`, and an index on `rid`
 *   serves the cascade (without it, deleting a resource would read the whole table).
 */
export function resourceAttributes(dialect: 'sqlite' | 'postgres') {
  const up =
    dialect === 'postgres'
      ? [
          `create table resource_attributes (
             project_id text collate "C" not null,
             rid bigint not null,
             name text collate "C" not null,
             value text not null,
             primary key (project_id, rid, name),
             foreign key (project_id, rid) references resources (project_id, rid) on delete cascade)`,
        ]
      : [
          `create table resource_attributes (
             project_id text not null,
             rid integer not null references resources (rid) on delete cascade,
             name text not null,
             value text not null,
             primary key (project_id, rid, name)) without rowid`,
          'create index resource_attributes_rid on resource_attributes (rid)',
        ];

  return {
    async up(db: Kysely<unknown>): Promise<void> {
      for (const s of up) await sql.raw(s).execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`drop table if exists resource_attributes`.execute(db);
    },
  };
}
