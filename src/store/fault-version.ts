import { sql } from 'kysely';
import type { Executor } from './executor.js';

/**
 * Nodes keep the set of injected faults in memory (see admin/faults.ts), so that a request costs
 * nothing when none is set. A change of that set records itself here, inside the writing
 * transaction, as identity and lockout changes do, on a channel of its own:
 * - the connection is marked, and the Store tells this process's listeners right after commit;
 * - the `fault_version` setting is bumped, which other processes see: on SQLite through
 *   `PRAGMA data_version`, on PostgreSQL through a trigger that notifies `tagplane_faults`.
 */
export const FAULT_VERSION_SETTING = 'fault_version';
export const FAULT_CHANNEL = 'tagplane_faults';

const changed = new WeakSet<object>();

/** Records that this transaction changes the set of faults. */
export async function faultsChanged(ex: Executor): Promise<void> {
  changed.add(ex);
  await ex
    .insertInto('settings')
    .values({ name: FAULT_VERSION_SETTING, value: '1' })
    .onConflict((oc) =>
      oc
        .column('name')
        .doUpdateSet({ value: sql<string>`cast(cast(settings.value as integer) + 1 as text)` }),
    )
    .execute();
}

/** Whether the transaction on this connection changed the set of faults; clears the mark. */
export function takeFaultsChanged(ex: Executor): boolean {
  return changed.delete(ex);
}
