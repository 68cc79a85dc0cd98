import { type Kysely, sql } from 'kysely';

/*
 * Frozen: this migration must never change once released, and never import application code.
 *
 * An index for substring searches of resource names (`matches` on `resource_name`), which
 * otherwise read every resource of a project:
 * - SQLite: an FTS5 table with the trigram tokenizer, case-sensitive, over `resources.name`
 *   (external content, kept in step by triggers). A phrase query of three characters or more
 *   finds the names containing it.
 * - PostgreSQL: a pg_trgm GIN index on `resources.name`, which serves `name LIKE '%…%'`. Where
 *   the extension cannot be installed the index is left out and name searches scan.
 */
export function nameSearch(dialect: 'sqlite' | 'postgres') {
  const up =
    dialect === 'sqlite'
      ? [
          `create virtual table resource_names using fts5(
             name, content='resources', content_rowid='rid', tokenize='trigram case_sensitive 1')`,
          `create trigger resource_names_insert after insert on resources begin
             insert into resource_names (rowid, name) values (new.rid, new.name);
           end`,
          `create trigger resource_names_delete after delete on resources begin
             insert into resource_names (resource_names, rowid, name) values ('delete', old.rid, old.name);
           end`,
          `create trigger resource_names_update after update of name on resources begin
             insert into resource_names (resource_names, rowid, name) values ('delete', old.rid, old.name);
             insert into resource_names (rowid, name) values (new.rid, new.name);
           end`,
          `insert into resource_names (resource_names) values ('rebuild')`,
        ]
      : [
          `do $$
           begin
             begin
               create extension if not exists pg_trgm;
             exception when others then
               raise notice 'pg_trgm is not available: resource name searches will scan';
             end;
             if exists (select 1 from pg_extension where extname = 'pg_trgm') then
               execute 'create index resources_name_trgm on resources using gin (name gin_trgm_ops)';
             end if;
           end
           $$`,
        ];
  const down =
    dialect === 'sqlite'
      ? [
          'drop trigger if exists resource_names_update',
          'drop trigger if exists resource_names_delete',
          'drop trigger if exists resource_names_insert',
          'drop table if exists resource_names',
        ]
      : ['drop index if exists resources_name_trgm'];

  return {
    async up(db: Kysely<unknown>): Promise<void> {
      for (const s of up) await sql.raw(s).execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      for (const s of down) await sql.raw(s).execute(db);
    },
  };
}
