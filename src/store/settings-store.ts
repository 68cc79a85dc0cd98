import type { Executor } from './database.js';

export async function getSetting(ex: Executor, name: string): Promise<string | undefined> {
  const row = await ex
    .selectFrom('settings')
    .select('value')
    .where('name', '=', name)
    .executeTakeFirst();
  return row?.value;
}

export async function setSetting(ex: Executor, name: string, value: string): Promise<void> {
  await ex
    .insertInto('settings')
    .values({ name, value })
    .onConflict((oc) => oc.column('name').doUpdateSet({ value }))
    .execute();
}

/**
 * The stored value of `name`, creating it with `make()` when absent. Several processes starting at
 * once on one database agree on a single value: the first insert wins and every process reads it.
 */
export async function ensureSetting(
  ex: Executor,
  name: string,
  make: () => string,
): Promise<{ value: string; created: boolean }> {
  const candidate = make();
  const inserted = await ex
    .insertInto('settings')
    .values({ name, value: candidate })
    .onConflict((oc) => oc.column('name').doNothing())
    .executeTakeFirst();
  const created = Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0;
  const value = await getSetting(ex, name);
  if (value === undefined) throw new Error(`setting ${name} vanished while being created`);
  return { value, created };
}
