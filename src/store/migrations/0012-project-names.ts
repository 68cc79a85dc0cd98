import { type Kysely, sql } from 'kysely';

/*
 * Frozen: this migration must never change once released, and never import application code.
 *
 * A project's name is unique in its domain, as IAM keeps it: SDKs find a project id by its
 * region's name. The seed and the admin API refuse a second project of a name; this index makes
 * that hold when two nodes create or rename projects at the same moment. A database that already
 * holds two projects of one name in a domain is refused with their names, changing nothing.
 */
export function projectNames(_dialect: 'sqlite' | 'postgres') {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      const { rows } = await sql<{ domain_id: string; name: string }>`
        select domain_id, name from projects group by domain_id, name having count(*) > 1
      `.execute(db);
      if (rows.length > 0) {
        const named = rows.map((r) => `'${r.name}' in domain '${r.domain_id}'`).join(', ');
        throw new Error(
          `several projects share a name (${named}): rename all but one before migrating.`,
        );
      }
      await sql`create unique index projects_domain_name on projects (domain_id, name)`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`drop index if exists projects_domain_name`.execute(db);
    },
  };
}
