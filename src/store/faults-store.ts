import { sql } from 'kysely';
import type { Executor } from './executor.js';
import type { FaultsTable } from './schema.js';

/** A fault row as stored: `match` and `error` are JSON text. */
export type FaultRow = FaultsTable;

/** Stores a new fault after every other (`seq` is given by the store). */
export async function insertFault(ex: Executor, row: Omit<FaultRow, 'seq'>): Promise<void> {
  const last = await ex
    .selectFrom('faults')
    .select((eb) => eb.fn.max('seq').as('seq'))
    .executeTakeFirst();
  await ex
    .insertInto('faults')
    .values({ ...row, seq: Number(last?.seq ?? 0) + 1 })
    .execute();
}

/** Every fault that has not expired at `now`, oldest first. */
export async function listFaults(ex: Executor, now: number): Promise<FaultRow[]> {
  const rows = await ex
    .selectFrom('faults')
    .selectAll()
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .orderBy('seq')
    .orderBy('id')
    .execute();
  return rows.map(normalise);
}

/** Bigint columns come back as strings on some drivers: numbers throughout. */
function normalise(r: FaultRow): FaultRow {
  return {
    ...r,
    seq: Number(r.seq),
    latency_ms: Number(r.latency_ms),
    probability: Number(r.probability),
    max_count: r.max_count === null ? null : Number(r.max_count),
    fired: Number(r.fired),
    ttl_s: r.ttl_s === null ? null : Number(r.ttl_s),
    expires_at: r.expires_at === null ? null : Number(r.expires_at),
    created_at: Number(r.created_at),
  };
}

/** Deletes one fault; true when it existed. */
export async function deleteFault(ex: Executor, id: string): Promise<boolean> {
  const r = await ex.deleteFrom('faults').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** Deletes the faults expired at `now`. */
export async function deleteExpiredFaults(ex: Executor, now: number): Promise<void> {
  await ex.deleteFrom('faults').where('expires_at', '<=', now).execute();
}

/** Deletes every fault; how many there were. */
export async function deleteAllFaults(ex: Executor): Promise<number> {
  const r = await ex.deleteFrom('faults').executeTakeFirst();
  return Number(r.numDeletedRows);
}

/**
 * Counts one firing of a fault, in one statement, unless it has expired at `now` or has fired as
 * many times as it may: so a limit holds exactly however many nodes fire it at once. How many
 * times it has fired after this one and its limit, or undefined when it may not fire.
 */
export async function fireFault(
  ex: Executor,
  id: string,
  now: number,
): Promise<{ fired: number; maxCount: number | null } | undefined> {
  const row = await ex
    .updateTable('faults')
    .set({ fired: sql<number>`fired + 1` })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('max_count', 'is', null), eb('fired', '<', eb.ref('max_count'))]))
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .returning(['fired', 'max_count'])
    .executeTakeFirst();
  return row
    ? { fired: Number(row.fired), maxCount: row.max_count === null ? null : Number(row.max_count) }
    : undefined;
}
