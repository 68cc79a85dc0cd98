import { sql } from 'kysely';
import type { Executor } from './executor.js';

/**
 * Nodes keep a small view of the access keys that have signature failures or a lock (see
 * auth/access-key-lockout.ts). A lockout change the other nodes must see records itself here,
 * inside the writing transaction, as identity changes do (identity-version.ts), but on a channel
 * of its own, so that it reloads that view and never drops the identity caches:
 * - the connection is marked, and the Store tells this process's listeners right after commit;
 * - the `lockout_version` setting is bumped, which other processes see: on SQLite through
 *   `PRAGMA data_version`, on PostgreSQL through a trigger that notifies `tagplane_lockout`.
 */
export const LOCKOUT_VERSION_SETTING = 'lockout_version';
export const LOCKOUT_CHANNEL = 'tagplane_lockout';

const changed = new WeakSet<object>();

/** Records that this transaction changes lockout state other nodes must see. */
export async function lockoutChanged(ex: Executor): Promise<void> {
  changed.add(ex);
  await ex
    .insertInto('settings')
    .values({ name: LOCKOUT_VERSION_SETTING, value: '1' })
    .onConflict((oc) =>
      oc
        .column('name')
        .doUpdateSet({ value: sql<string>`cast(cast(settings.value as integer) + 1 as text)` }),
    )
    .execute();
}

/** Whether the transaction on this connection changed lockout state; clears the mark. */
export function takeLockoutChanged(ex: Executor): boolean {
  return changed.delete(ex);
}
