import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventPrincipal, NewChangeEvent } from '../../src/core/change-event.js';
import {
  appendEvents,
  deleteProjectEvents,
  type EventRow,
  eventJson,
  listEvents,
  toChangeEvent,
} from '../../src/store/events-store.js';
import type { Executor } from '../../src/store/executor.js';
import { openTestStore, type TestStore } from '../support/test-store.js';

/**
 * Events appended by the writes of one group commit (SQLite) are inserted together before it
 * commits: each write's events must still be exactly as if it had inserted them itself. On a
 * store without group commits the same writes run one after the other and must answer the same.
 */

let ts: TestStore;
let n = 0;

beforeAll(async () => {
  ts = await openTestStore(undefined, { backgroundEventIndex: false });
  const now = new Date().toISOString();
  await ts.store.db
    .insertInto('domains')
    .values({ id: 'd-gather', name: 'gather', created_at: now })
    .execute();
  for (const id of ['p-gather-1', 'p-gather-2']) {
    await ts.store.db
      .insertInto('projects')
      .values({ id, name: id, domain_id: 'd-gather', created_at: now })
      .execute();
  }
});
afterAll(() => ts.close());

function event(
  projectId: string,
  value: string,
  principal: EventPrincipal = { type: 'admin' },
  resourceId = 's-1',
): NewChangeEvent {
  return {
    time: new Date().toISOString(),
    projectId,
    resourceType: 'bms_server',
    resourceId,
    origin: {
      service: 'admin',
      operation: 'test',
      principal,
      sourceIp: '127.0.0.1',
      requestId: `r-${++n}`,
    },
    changes: [{ key: 'k', old: null, new: value }],
  };
}

/** The writes, started together (one group commit where the store has them). */
async function group(writes: ((tx: Executor) => Promise<unknown>)[]) {
  if (ts.store.caps.groupCommit) {
    return Promise.allSettled(writes.map((w) => ts.store.transaction(w)));
  }
  const settled: PromiseSettledResult<unknown>[] = [];
  for (const w of writes) {
    settled.push(
      await ts.store.transaction(w).then(
        (value) => ({ status: 'fulfilled', value }) as const,
        (reason) => ({ status: 'rejected', reason }) as const,
      ),
    );
  }
  return settled;
}

/** The values of a project's events, oldest first, and that each has its project's domain. */
async function values(projectId: string): Promise<string[]> {
  const { events } = await listEvents(ts.store.db, ts.store.caps, { projectId }, 'asc', undefined);
  for (const e of events) expect(e.domain_id).toBe('d-gather');
  return events.map((e) => e.changes[0]!.new!);
}

const failure = new Error('this write fails');

describe('events appended in one group commit', () => {
  it('are all committed, in the order of the writes', async () => {
    const settled = await group([
      (tx) => appendEvents(tx, [event('p-gather-1', 'a1')]),
      (tx) => appendEvents(tx, [event('p-gather-1', 'a2'), event('p-gather-1', 'a3')]),
      (tx) => appendEvents(tx, [event('p-gather-1', 'a4')]),
    ]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(await values('p-gather-1')).toEqual(['a1', 'a2', 'a3', 'a4']);
  });

  it('a failing write takes back its own events only, even after reading the log', async () => {
    await deleteAll();
    let seen: string[] = [];
    const settled = await group([
      (tx) => appendEvents(tx, [event('p-gather-2', 'b1')]),
      async (tx) => {
        await appendEvents(tx, [event('p-gather-2', 'b2')]);
        // A read sees the writes before it and its own, then the write fails.
        // (Newest first: an ascending read on PostgreSQL holds back a running transaction's.)
        const read = await listEvents(tx, ts.store.caps, { projectId: 'p-gather-2' }, 'desc', 10);
        seen = read.events.map((e) => e.changes[0]!.new!).reverse();
        await appendEvents(tx, [event('p-gather-2', 'b3')]);
        throw failure;
      },
      (tx) => appendEvents(tx, [event('p-gather-2', 'b4')]),
      async (tx) => {
        await appendEvents(tx, [event('p-gather-2', 'b5')]);
        throw failure;
      },
      (tx) => appendEvents(tx, [event('p-gather-2', 'b6')]),
    ]);
    expect(settled.map((s) => s.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    expect(seen).toEqual(['b1', 'b2']);
    expect(await values('p-gather-2')).toEqual(['b1', 'b4', 'b6']);
  });

  it('a project reset after a write takes that write’s event; a write after it keeps its own', async () => {
    await deleteAll();
    await group([
      (tx) => appendEvents(tx, [event('p-gather-1', 'c1'), event('p-gather-2', 'c1')]),
      (tx) => deleteProjectEvents(tx, ts.store.caps, 'p-gather-1'),
      (tx) => appendEvents(tx, [event('p-gather-1', 'c2')]),
    ]);
    expect(await values('p-gather-1')).toEqual(['c2']);
    expect(await values('p-gather-2')).toEqual(['c1']);
  });
});

describe('what a group commit tells the followers of the log', () => {
  it('is every event it appended, as the log reads it back, and its JSON as the live feed sends it', async () => {
    await deleteAll();
    const told: (readonly EventRow[] | undefined)[] = [];
    const stop = ts.store.onEventsAppended((events) => told.push(events));
    try {
      const settled = await group([
        (tx) =>
          appendEvents(tx, [
            event('p-gather-1', 'd1', { type: 'root', user_id: 'u-1', user_name: 'root' }),
            event('p-gather-2', 'quote " backslash \\ newline \n ünïcödé 🙂', {
              type: 'iam_user',
              user_id: 'u-2',
              user_name: 'n "2"',
              access_key: 'AK\t2',
            }),
          ]),
        async (tx) => {
          await appendEvents(tx, [event('p-gather-1', 'undone')]);
          throw failure;
        },
        (tx) =>
          appendEvents(tx, [
            event('p-gather-1', 'd2', { type: 'open' }, 'r "quoted" \u2028'),
            event('p-gather-1', 'd3', { type: 'iam_user', user_id: 'u-3' }),
          ]),
      ]);
      expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      const logged = [
        ...(await listEvents(ts.store.db, ts.store.caps, {}, 'asc', undefined)).events,
      ].filter((e) => e.project_id.startsWith('p-gather-'));
      expect(logged.map((e) => e.changes[0]!.new)).toEqual([
        'd1',
        'quote " backslash \\ newline \n ünïcödé 🙂',
        'd2',
        'd3',
      ]);
      const rows = told.flatMap((events) => events ?? []);
      if (ts.store.caps.groupCommit) {
        // One commit, told once, with every event it appended.
        expect(told).toHaveLength(1);
        expect(rows.map(toChangeEvent)).toEqual(logged);
        for (const row of rows) {
          expect(eventJson(row)).toBe(JSON.stringify(toChangeEvent(row)));
        }
      } else {
        // Each write commits on its own, and the followers read the log.
        expect(told.length).toBeGreaterThanOrEqual(2);
        expect(rows).toEqual([]);
      }
    } finally {
      stop();
    }
  });
});

async function deleteAll(): Promise<void> {
  for (const p of ['p-gather-1', 'p-gather-2']) {
    await ts.store.transaction((tx) => deleteProjectEvents(tx, ts.store.caps, p));
  }
}
