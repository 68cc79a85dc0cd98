import { sql } from 'kysely';
import type { AccessKeyRecord, DomainRecord, ProjectRecord, UserRecord } from '../core/identity.js';
import { LETTERS_DIGITS, randomString } from '../core/random.js';
import type { Executor } from './database.js';
import { identityChanged } from './identity-version.js';

type UserRow = {
  id: string;
  domain_id: string;
  name: string;
  is_root: number | boolean;
  password_hash: string | null;
  policies: string;
  token_epoch: string;
};

/**
 * A user's new token epoch: random, so that a user created again with an id that existed (or a
 * password set again) never matches the tokens of before, whatever the clock says.
 */
function newTokenEpoch(): string {
  return randomString(16, LETTERS_DIGITS);
}

function toUser(row: UserRow): UserRecord {
  return {
    id: row.id,
    domainId: row.domain_id,
    name: row.name,
    root: Boolean(row.is_root),
    passwordHash: row.password_hash,
    policies: JSON.parse(row.policies) as unknown[],
    tokenEpoch: row.token_epoch,
  };
}

export async function upsertDomain(ex: Executor, d: DomainRecord, now: string): Promise<void> {
  await ex
    .insertInto('domains')
    .values({ id: d.id, name: d.name, created_at: now })
    .onConflict((oc) => oc.column('id').doUpdateSet({ name: d.name }))
    .execute();
  await identityChanged(ex);
}

export async function upsertProject(ex: Executor, p: ProjectRecord, now: string): Promise<void> {
  await ex
    .insertInto('projects')
    .values({ id: p.id, name: p.name, domain_id: p.domainId, created_at: now })
    .onConflict((oc) => oc.column('id').doUpdateSet({ name: p.name, domain_id: p.domainId }))
    .execute();
  await identityChanged(ex);
}

/** A user's columns but its id and creation time. */
function userColumns(u: UserRecord) {
  return {
    domain_id: u.domainId,
    name: u.name,
    is_root: u.root ? 1 : 0,
    password_hash: u.passwordHash,
    policies: JSON.stringify(u.policies),
  };
}

/**
 * Creates a user; false when one with this id already exists, which is left as it was (a plain
 * insert that is skipped, not an upsert: two creations racing for one id must not both succeed).
 */
export async function insertUser(ex: Executor, u: UserRecord, now: string): Promise<boolean> {
  const inserted = await ex
    .insertInto('users')
    .values({ id: u.id, created_at: now, token_epoch: newTokenEpoch(), ...userColumns(u) })
    .onConflict((oc) => oc.column('id').doNothing())
    .executeTakeFirst();
  if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) return false;
  await identityChanged(ex);
  return true;
}

/**
 * Creates or updates a user. A new user gets a new token epoch; an existing one keeps its epoch
 * (and so its tokens) unless its password hash changes.
 */
export async function upsertUser(ex: Executor, u: UserRecord, now: string): Promise<void> {
  const values = userColumns(u);
  const epoch = newTokenEpoch();
  await ex
    .insertInto('users')
    .values({ id: u.id, created_at: now, token_epoch: epoch, ...values })
    .onConflict((oc) =>
      oc.column('id').doUpdateSet({
        ...values,
        token_epoch: sql<string>`case when users.password_hash is not distinct from excluded.password_hash
          then users.token_epoch else ${epoch} end`,
      }),
    )
    .execute();
  await identityChanged(ex);
}

export async function upsertAccessKey(ex: Executor, k: AccessKeyRecord): Promise<void> {
  await ex
    .insertInto('access_keys')
    .values({
      access_key: k.accessKey,
      user_id: k.userId,
      secret_ciphertext: k.secretCiphertext,
      created_at: k.createdAt,
    })
    .onConflict((oc) =>
      oc
        .column('access_key')
        .doUpdateSet({ user_id: k.userId, secret_ciphertext: k.secretCiphertext }),
    )
    .execute();
  await identityChanged(ex);
}

export async function findDomainById(ex: Executor, id: string): Promise<DomainRecord | undefined> {
  return ex.selectFrom('domains').select(['id', 'name']).where('id', '=', id).executeTakeFirst();
}

export async function findDomainByName(
  ex: Executor,
  name: string,
): Promise<DomainRecord | undefined> {
  return ex
    .selectFrom('domains')
    .select(['id', 'name'])
    .where('name', '=', name)
    .executeTakeFirst();
}

export async function listDomains(ex: Executor): Promise<DomainRecord[]> {
  return ex.selectFrom('domains').select(['id', 'name']).orderBy('id').execute();
}

export async function findProject(ex: Executor, id: string): Promise<ProjectRecord | undefined> {
  const row = await ex
    .selectFrom('projects')
    .select(['id', 'name', 'domain_id'])
    .where('id', '=', id)
    .executeTakeFirst();
  return row ? { id: row.id, name: row.name, domainId: row.domain_id } : undefined;
}

/** Projects of a domain, optionally only those with a given name, by id. */
export async function listProjects(
  ex: Executor,
  filter: { domainId?: string; name?: string },
): Promise<ProjectRecord[]> {
  let q = ex.selectFrom('projects').select(['id', 'name', 'domain_id']);
  if (filter.domainId !== undefined) q = q.where('domain_id', '=', filter.domainId);
  if (filter.name !== undefined) q = q.where('name', '=', filter.name);
  const rows = await q.orderBy('id').execute();
  return rows.map((r) => ({ id: r.id, name: r.name, domainId: r.domain_id }));
}

export async function findUserById(ex: Executor, id: string): Promise<UserRecord | undefined> {
  const row = await ex.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toUser(row) : undefined;
}

export async function findUserByName(
  ex: Executor,
  domainId: string,
  name: string,
): Promise<UserRecord | undefined> {
  const row = await ex
    .selectFrom('users')
    .selectAll()
    .where('domain_id', '=', domainId)
    .where('name', '=', name)
    .executeTakeFirst();
  return row ? toUser(row) : undefined;
}

/** The root user of a domain, if it has one. */
export async function findRootUser(
  ex: Executor,
  domainId: string,
): Promise<UserRecord | undefined> {
  const row = await ex
    .selectFrom('users')
    .selectAll()
    .where('domain_id', '=', domainId)
    .where('is_root', '=', 1)
    .orderBy('id')
    .executeTakeFirst();
  return row ? toUser(row) : undefined;
}

export async function findAccessKey(
  ex: Executor,
  accessKey: string,
): Promise<AccessKeyRecord | undefined> {
  const row = await ex
    .selectFrom('access_keys')
    .selectAll()
    .where('access_key', '=', accessKey)
    .executeTakeFirst();
  return row
    ? {
        accessKey: row.access_key,
        userId: row.user_id,
        secretCiphertext: row.secret_ciphertext,
        createdAt: row.created_at,
      }
    : undefined;
}

/**
 * Empties every table of tenant data, lockout state included. Server settings (admin token, keys)
 * stay.
 */
export async function resetAll(ex: Executor): Promise<void> {
  for (const t of [
    'events',
    'revoked_tokens',
    'tags',
    'resources',
    'access_key_failures',
    'login_failures',
    'access_keys',
    'users',
    'projects',
    'domains',
  ] as const) {
    await ex.deleteFrom(t).execute();
  }
  await identityChanged(ex);
}

export interface UserListing extends UserRecord {
  readonly createdAt: string;
}

/** Users, optionally only those of one domain or the one with an id, by id. */
export async function listUsers(
  ex: Executor,
  filter: { domainId?: string; id?: string } = {},
): Promise<UserListing[]> {
  let q = ex.selectFrom('users').selectAll();
  if (filter.domainId !== undefined) q = q.where('domain_id', '=', filter.domainId);
  if (filter.id !== undefined) q = q.where('id', '=', filter.id);
  const rows = await q.orderBy('id').execute();
  return rows.map((r) => ({ ...toUser(r), createdAt: r.created_at }));
}

/** Deletes a user and its access keys; false when there was no such user. */
export async function deleteUser(ex: Executor, id: string): Promise<boolean> {
  await ex.deleteFrom('access_keys').where('user_id', '=', id).execute();
  const r = await ex.deleteFrom('users').where('id', '=', id).executeTakeFirst();
  await identityChanged(ex);
  return Number(r.numDeletedRows) > 0;
}

export async function setUserPolicies(
  ex: Executor,
  id: string,
  policies: readonly unknown[],
): Promise<void> {
  await ex
    .updateTable('users')
    .set({ policies: JSON.stringify(policies) })
    .where('id', '=', id)
    .execute();
  await identityChanged(ex);
}

export async function setUserPasswordHash(
  ex: Executor,
  id: string,
  passwordHash: string | null,
): Promise<void> {
  // A new password ends every token of the old one.
  await ex
    .updateTable('users')
    .set({ password_hash: passwordHash, token_epoch: newTokenEpoch() })
    .where('id', '=', id)
    .execute();
  await identityChanged(ex);
}

/**
 * Revokes one token (by its hash) until it would have expired anyway; revocations already past
 * that moment are pruned on the way.
 */
export async function revokeToken(
  ex: Executor,
  tokenHash: string,
  expiresAt: number,
  now: number,
): Promise<void> {
  await ex.deleteFrom('revoked_tokens').where('expires_at', '<=', now).execute();
  await ex
    .insertInto('revoked_tokens')
    .values({ token_hash: tokenHash, expires_at: expiresAt })
    .onConflict((oc) => oc.column('token_hash').doNothing())
    .execute();
  await identityChanged(ex);
}

/** Hashes of the revoked tokens that have not expired yet. */
export async function listRevokedTokens(ex: Executor, now: number): Promise<string[]> {
  const rows = await ex
    .selectFrom('revoked_tokens')
    .select('token_hash')
    .where('expires_at', '>', now)
    .execute();
  return rows.map((r) => r.token_hash);
}

/** The access keys of users (secrets stay sealed; callers must not list them), oldest first. */
export async function listAccessKeys(
  ex: Executor,
  userIds: readonly string[],
): Promise<AccessKeyRecord[]> {
  if (userIds.length === 0) return [];
  const rows = await ex
    .selectFrom('access_keys')
    .selectAll()
    .where('user_id', 'in', userIds)
    .orderBy('created_at')
    .orderBy('access_key')
    .execute();
  return rows.map((row) => ({
    accessKey: row.access_key,
    userId: row.user_id,
    secretCiphertext: row.secret_ciphertext,
    createdAt: row.created_at,
  }));
}

/** Deletes one access key of a user; false when the user has no such key. */
export async function deleteAccessKey(
  ex: Executor,
  userId: string,
  accessKey: string,
): Promise<boolean> {
  const r = await ex
    .deleteFrom('access_keys')
    .where('user_id', '=', userId)
    .where('access_key', '=', accessKey)
    .executeTakeFirst();
  await identityChanged(ex);
  return Number(r.numDeletedRows) > 0;
}

/** Deletes a domain, with whatever it still holds (callers refuse one that holds anything). */
export async function deleteDomain(ex: Executor, id: string): Promise<boolean> {
  const r = await ex.deleteFrom('domains').where('id', '=', id).executeTakeFirst();
  await identityChanged(ex);
  return Number(r.numDeletedRows) > 0;
}

/** Deletes a project, with whatever it still holds (callers refuse one that holds anything). */
export async function deleteProject(ex: Executor, id: string): Promise<boolean> {
  const r = await ex.deleteFrom('projects').where('id', '=', id).executeTakeFirst();
  await identityChanged(ex);
  return Number(r.numDeletedRows) > 0;
}

/** How many projects and users a domain holds. */
export async function domainContents(
  ex: Executor,
  id: string,
): Promise<{ projects: number; users: number }> {
  const count = async (table: 'projects' | 'users') => {
    const row = await ex
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
      .where('domain_id', '=', id)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  };
  return { projects: await count('projects'), users: await count('users') };
}
