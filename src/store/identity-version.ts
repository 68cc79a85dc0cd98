import { sql } from 'kysely';
import type { Executor } from './executor.js';

/**
 * Identity data (domains, projects, users, access keys) is read on every request and changes
 * rarely, so nodes cache it. Every change records itself here, inside the writing transaction:
 * - the connection is marked, and the Store tells this process's listeners right after commit;
 * - the `identity_version` setting is bumped, which other processes see: on SQLite through
 *   `PRAGMA data_version`, on PostgreSQL through a trigger that notifies `tagplane_identity`.
 */
export const IDENTITY_VERSION_SETTING = 'identity_version';
export const IDENTITY_CHANNEL = 'tagplane_identity';

const changed = new WeakSet<object>();

/** Records that this transaction changes identity data. */
export async function identityChanged(ex: Executor): Promise<void> {
  changed.add(ex);
  await ex
    .insertInto('settings')
    .values({ name: IDENTITY_VERSION_SETTING, value: '1' })
    .onConflict((oc) =>
      oc
        .column('name')
        .doUpdateSet({ value: sql<string>`cast(cast(settings.value as integer) + 1 as text)` }),
    )
    .execute();
}

/** Whether the transaction on this connection changed identity data; clears the mark. */
export function takeIdentityChanged(ex: Executor): boolean {
  return changed.delete(ex);
}
