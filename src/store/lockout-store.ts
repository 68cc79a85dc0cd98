import { sql } from 'kysely';
import type { Executor } from './database.js';

/** A user's failed logins still in the window (epoch ms, oldest first) and the end of its lock. */
export interface LoginFailureRecord {
  readonly failedAt: readonly number[];
  /** Epoch milliseconds; 0 or past: not locked. */
  readonly lockedUntil: number;
}

/** An access key's consecutive signature failures and the end of its lock. */
export interface AccessKeyFailureRecord {
  readonly failures: number;
  /** Epoch milliseconds; 0 or past: not locked. */
  readonly lockedUntil: number;
}

function parseFailedAt(text: string): number[] {
  return text === '' ? [] : text.split(',').map(Number);
}

/**
 * A user's login failures, or undefined when it has none. `lock` (PostgreSQL) locks the row for
 * the rest of the transaction, so that concurrent failures are counted one after the other.
 */
export async function findLoginFailures(
  ex: Executor,
  userId: string,
  lock = false,
): Promise<LoginFailureRecord | undefined> {
  let q = ex
    .selectFrom('login_failures')
    .select(['failed_at', 'locked_until'])
    .where('user_id', '=', userId);
  if (lock) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  return row
    ? { failedAt: parseFailedAt(row.failed_at), lockedUntil: Number(row.locked_until) }
    : undefined;
}

/**
 * Creates the (empty) login failure row of a user, unless it has one or the user no longer
 * exists; true when the row exists after.
 */
export async function ensureLoginFailures(ex: Executor, userId: string): Promise<boolean> {
  await ex
    .insertInto('login_failures')
    .columns(['user_id'])
    .expression((eb) => eb.selectFrom('users').select('id').where('id', '=', userId))
    .onConflict((oc) => oc.column('user_id').doNothing())
    .execute();
  const row = await ex
    .selectFrom('login_failures')
    .select('user_id')
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row !== undefined;
}

export async function saveLoginFailures(
  ex: Executor,
  userId: string,
  record: LoginFailureRecord,
): Promise<void> {
  await ex
    .updateTable('login_failures')
    .set({ failed_at: record.failedAt.join(','), locked_until: record.lockedUntil })
    .where('user_id', '=', userId)
    .execute();
}

/** Forgets a user's login failures, unless it is locked at `now` (a lock runs its course). */
export async function clearLoginFailures(ex: Executor, userId: string, now: number): Promise<void> {
  await ex
    .deleteFrom('login_failures')
    .where('user_id', '=', userId)
    .where('locked_until', '<=', now)
    .execute();
}

/** The failure state of one access key, or undefined when it has none. */
export async function findAccessKeyFailures(
  ex: Executor,
  accessKey: string,
): Promise<AccessKeyFailureRecord | undefined> {
  const row = await ex
    .selectFrom('access_key_failures')
    .select(['failures', 'locked_until'])
    .where('access_key', '=', accessKey)
    .executeTakeFirst();
  return row ? { failures: row.failures, lockedUntil: Number(row.locked_until) } : undefined;
}

/** Every access key that has failures, or a lock that has not ended at `now`. */
export async function listAccessKeyFailures(
  ex: Executor,
  now: number,
): Promise<(AccessKeyFailureRecord & { accessKey: string })[]> {
  const rows = await ex
    .selectFrom('access_key_failures')
    .select(['access_key', 'failures', 'locked_until'])
    .where((eb) => eb.or([eb('failures', '>', 0), eb('locked_until', '>', now)]))
    .execute();
  return rows.map((r) => ({
    accessKey: r.access_key,
    failures: r.failures,
    lockedUntil: Number(r.locked_until),
  }));
}

/**
 * Counts one signature failure of an access key, in one statement (so concurrent failures on
 * any node are all counted): a key locked at `now` stays as it is; otherwise its count goes up
 * by one, and past `limit` the key is locked until `lockUntil` with its count back at 0. The
 * state after, or undefined when the key no longer exists.
 */
export async function recordAccessKeyFailure(
  ex: Executor,
  accessKey: string,
  now: number,
  limit: number,
  lockUntil: number,
): Promise<AccessKeyFailureRecord | undefined> {
  const first = 1 > limit;
  const row = await ex
    .insertInto('access_key_failures')
    .columns(['access_key', 'failures', 'locked_until'])
    .expression((eb) =>
      eb
        .selectFrom('access_keys')
        .select([
          'access_key',
          // Typed here: PostgreSQL would take an untyped parameter in a select list for text.
          sql<number>`cast(${first ? 0 : 1} as integer)`.as('failures'),
          sql<number>`cast(${first ? lockUntil : 0} as bigint)`.as('locked_until'),
        ])
        .where('access_key', '=', accessKey),
    )
    .onConflict((oc) =>
      oc.column('access_key').doUpdateSet({
        failures: sql<number>`case
          when access_key_failures.locked_until > ${now} then access_key_failures.failures
          when access_key_failures.failures + 1 > ${limit} then 0
          else access_key_failures.failures + 1 end`,
        locked_until: sql<number>`case
          when access_key_failures.locked_until > ${now} then access_key_failures.locked_until
          when access_key_failures.failures + 1 > ${limit} then ${lockUntil}
          else access_key_failures.locked_until end`,
      }),
    )
    .returning(['failures', 'locked_until'])
    .executeTakeFirst();
  return row ? { failures: row.failures, lockedUntil: Number(row.locked_until) } : undefined;
}

/**
 * Forgets an access key's failures after a good signature, unless it is locked at `now`; true
 * when there was something to forget.
 */
export async function clearAccessKeyFailures(
  ex: Executor,
  accessKey: string,
  now: number,
): Promise<boolean> {
  const r = await ex
    .deleteFrom('access_key_failures')
    .where('access_key', '=', accessKey)
    .where('locked_until', '<=', now)
    .executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}
