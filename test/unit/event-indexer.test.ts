import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { NewChangeEvent } from '../../src/core/change-event.js';
import type { IndexProgress } from '../../src/store/event-indexer.js';
import { appendEvents } from '../../src/store/events-store.js';
import { openTestStore, type TestStore } from '../support/test-store.js';

/**
 * The background indexer of the change log (SQLite, where the log's indexes are filled apart
 * from the writes): a long catch-up, such as the first after an upgrade that adds an index,
 * tells its progress.
 */

let ts: TestStore;

beforeAll(async () => {
  // Background indexing runs only once asked to (below).
  ts = await openTestStore();
  const now = new Date().toISOString();
  await ts.store.db
    .insertInto('domains')
    .values({ id: 'd-x', name: 'x', created_at: now })
    .execute();
  await ts.store.db
    .insertInto('projects')
    .values({ id: 'p-x', name: 'x', domain_id: 'd-x', created_at: now })
    .execute();
});
afterAll(() => ts.close());

function event(i: number): NewChangeEvent {
  return {
    time: new Date().toISOString(),
    projectId: 'p-x',
    resourceType: 'bms_server',
    resourceId: `s-${i % 97}`,
    origin: {
      service: 'admin',
      operation: 'test',
      principal: { type: 'admin' },
      sourceIp: '127.0.0.1',
      requestId: `r-${i}`,
    },
    changes: [{ key: 'k', old: null, new: String(i) }],
  };
}

/**
 * Appends 12,000 events unindexed, then indexes in the background, telling progress every
 * `progressMs`: what it told, and the indexing to stop.
 */
async function backlogIndexedInBackground(progressMs: number) {
  await ts.store.transaction((tx) =>
    appendEvents(
      tx,
      Array.from({ length: 12_000 }, (_, i) => event(i)),
    ),
  );
  const told: IndexProgress[] = [];
  const indexing = ts.store.indexEventsInBackground(
    (err) => {
      throw err;
    },
    (p) => told.push(p),
    progressMs,
  );
  return { told, indexing };
}

describe('a catch-up of the change log index', () => {
  it('of 12,000 events tells where it is after its first batch, and when it is done', async () => {
    // Told from the first batch on (a catch-up tells only after 5 s by default).
    const { told, indexing } = await backlogIndexedInBackground(0);
    try {
      if (!ts.store.caps.deferredEventIndex) {
        // PostgreSQL indexes each event as it is appended: there is nothing to catch up.
        expect(await ts.store.indexEvents()).toBe(0);
        expect(told).toEqual([]);
        return;
      }
      await vi.waitFor(() => expect(told.at(-1)?.remaining).toBe(0), { timeout: 20_000 });
      expect(told[0]).toEqual({ indexed: 5_000, remaining: 7_000 });
      expect(told.at(-1)).toEqual({ indexed: 12_000, remaining: 0 });
      expect(await ts.store.indexEvents()).toBe(0);
    } finally {
      await indexing.stop();
    }
  });

  it('that ends before the interval says nothing', async () => {
    const { told, indexing } = await backlogIndexedInBackground(60_000);
    try {
      // Waits for the background catch-up under way, then finds nothing left.
      expect(await ts.store.indexEvents()).toBe(0);
      expect(told).toEqual([]);
    } finally {
      await indexing.stop();
    }
  });
});
