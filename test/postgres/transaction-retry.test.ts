import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Executor } from '../../src/store/database.js';
import { openTestStore, type TestStore } from '../support/test-store.js';

/** Transactions on several PostgreSQL connections that collide are run again, not failed. */
describe('write transactions on PostgreSQL', () => {
  let ts: TestStore;

  beforeAll(async () => {
    ts = await openTestStore('postgres');
    await ts.store.db
      .insertInto('settings')
      .values([
        { name: 'row-a', value: '' },
        { name: 'row-b', value: '' },
      ])
      .execute();
  });
  afterAll(() => ts.close());

  const set = (tx: Executor, name: string, value: string) =>
    tx.updateTable('settings').set({ value }).where('name', '=', name).execute();

  it('two transactions that deadlock both complete: the one PostgreSQL aborts runs again', async () => {
    let arrived = 0;
    let release!: () => void;
    const bothHoldOneRow = new Promise<void>((r) => {
      release = r;
    });
    const meet = async () => {
      if (++arrived === 2) release();
      await bothHoldOneRow;
    };
    let attempts = 0;
    const writer = (first: string, second: string, value: string) =>
      ts.store.transaction(async (tx) => {
        attempts++;
        await set(tx, first, value);
        await meet();
        await set(tx, second, value);
      });
    // Each locks one row, waits until the other holds the other row, then wants it: a deadlock.
    await Promise.all([writer('row-a', 'row-b', 'one'), writer('row-b', 'row-a', 'two')]);
    expect(attempts).toBe(3);
    const { rows } = await sql<{ value: string }>`select value from settings
      where name in ('row-a', 'row-b') order by name`.execute(ts.store.db);
    // Whichever ran last wrote both rows: each transaction applied whole.
    expect(new Set(rows.map((r) => r.value)).size).toBe(1);
  });

  it('a failure that is not a conflict is not retried', async () => {
    let attempts = 0;
    await expect(
      ts.store.transaction(async (tx) => {
        attempts++;
        await sql`select 1/0`.execute(tx);
      }),
    ).rejects.toThrow(/division by zero/);
    expect(attempts).toBe(1);
  });
});
