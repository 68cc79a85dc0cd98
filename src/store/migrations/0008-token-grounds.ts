import { type Kysely, sql } from 'kysely';

/*
 * Frozen: this migration must never change once released, and never import application code.
 *
 * Tokens end when their grounds end:
 * - `users.token_epoch`: a value every token of the user carries; a new one is set when the user
 *   is created and when its password changes, so that neither a user created later with the same
 *   id nor the old password's tokens verify. Users that existed before keep '' (the value that
 *   tokens issued before this migration carry).
 * - `revoked_tokens`: tokens revoked one by one (DELETE /v3/auth/tokens), by the SHA-256 of the
 *   token, until they would have expired anyway (`expires_at`, epoch milliseconds).
 */
export function tokenGrounds(dialect: 'sqlite' | 'postgres') {
  const text = dialect === 'postgres' ? 'text collate "C"' : 'text';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql
        .raw(`alter table users add column token_epoch text not null default ''`)
        .execute(db);
      await sql
        .raw(
          `create table revoked_tokens (
             token_hash ${text} primary key,
             expires_at bigint not null)`,
        )
        .execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`drop table if exists revoked_tokens`.execute(db);
      await sql.raw('alter table users drop column token_epoch').execute(db);
    },
  };
}
