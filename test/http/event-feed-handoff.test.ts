import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EventFeed } from '../../src/admin/event-feed.js';
import type { EventPrincipal, NewChangeEvent } from '../../src/core/change-event.js';
import { appendEvents, listEvents } from '../../src/store/events-store.js';
import { ADMIN_TOKEN, createHarness, type Harness, type Tenant } from '../support/harness.js';
import { BMS } from '../support/service-spec.js';
import { TagApi } from '../support/tag-api.js';

/**
 * The live feed sends exactly what the log holds, whichever way it learns of an event: where
 * this node's commits hand it their events (SQLite's group commits) it takes them instead of
 * reading them back, and where it cannot know it has them all (another node committed, or a
 * write read the log in the middle of a group commit) it reads the log. Either way every field
 * of every event is as GET /admin/v1/events answers it, each once, in id order.
 */

let a: Harness;
let b: Harness;
let t: Tenant;

beforeAll(async () => {
  a = await createHarness();
  b = await createHarness({ databaseUrl: a.databaseUrl, keys: a.keys });
  t = await a.tenant();
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

/** Every event of the log after `after`, as the admin API lists them, oldest first. */
async function logged(after: string): Promise<unknown[]> {
  const out: unknown[] = [];
  let since = after;
  for (;;) {
    const res = await a.inject({
      method: 'GET',
      url: `/admin/v1/events?since=${since}&order=asc&limit=1000`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(res.statusCode, res.body).toBe(200);
    const { events } = JSON.parse(res.body) as { events: { id: string }[] };
    out.push(...events);
    if (events.length < 1000) return out;
    since = events.at(-1)!.id;
  }
}

/** A feed on node `a` following every project, keeping each event as the stream encodes it. */
async function follow(): Promise<{ received: () => unknown[]; stop: () => void }> {
  const feed = new EventFeed(a.store, (_id: string, json: string) => `${json}\n`);
  const lines: string[] = [];
  const stop = await feed.subscribe({}, undefined, {
    send: (chunk) => lines.push(...chunk.toString().split('\n').filter(Boolean)),
    taken: () => Promise.resolve(),
  });
  return { received: () => lines.map((l) => JSON.parse(l) as unknown), stop };
}

async function head(): Promise<string> {
  const res = await a.inject({
    method: 'GET',
    url: '/admin/v1/events?order=desc&limit=1',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  return (JSON.parse(res.body) as { events: { id: string }[] }).events[0]?.id ?? '0';
}

const event = (resourceId: string, principal: EventPrincipal, value: string): NewChangeEvent => ({
  time: new Date().toISOString(),
  projectId: t.projectId,
  resourceType: 'bms_server',
  resourceId,
  origin: {
    service: 'bms',
    operation: 'test',
    principal,
    sourceIp: '192.0.2.7',
    requestId: randomUUID(),
  },
  changes: [{ key: 'k', old: null, new: value }],
});

it('concurrent writes of every kind of principal, on this node and another: every event as the log holds it, once, in id order', async () => {
  const start = await head();
  const { received, stop } = await follow();
  try {
    const ids = await Promise.all(Array.from({ length: 5 }, () => t.resource('bms_server')));
    const api = new TagApi(a, t, BMS);
    const other = new TagApi(b, t, BMS);
    const writes: Promise<{ statusCode: number }>[] = [];
    for (let round = 0; round < 5; round++) {
      // Several writes in one turn of the event loop share a group commit; node b's commits
      // come between node a's.
      writes.push(api.create(ids[0]!, [{ key: 'round', value: `${round}` }]));
      writes.push(api.create(ids[1]!, [{ key: 'round', value: `${round}` }]));
      writes.push(other.create(ids[2]!, [{ key: 'round', value: `${round}` }]));
      for (const res of await Promise.all(writes.splice(0))) expect(res.statusCode).toBe(204);
    }
    // Principals the routes above do not make: an IAM user with no name, an access key.
    await Promise.all([
      a.store.transaction((tx) =>
        appendEvents(tx, [event(ids[3]!, { type: 'iam_user', user_id: 'u-1' }, 'x')]),
      ),
      a.store.transaction((tx) =>
        appendEvents(tx, [
          event(
            ids[4]!,
            { type: 'iam_user', user_id: 'u-2', user_name: 'n', access_key: 'AK1' },
            'y',
          ),
        ]),
      ),
      a.store.transaction((tx) => appendEvents(tx, [event(ids[4]!, { type: 'open' }, 'z')])),
    ]);
    const log = await logged(start);
    expect(log).toHaveLength(5 * 3 + 3);
    await expect.poll(received, { timeout: 10_000 }).toEqual(log);
  } finally {
    stop();
  }
});

it('a group commit in which a write reads the log, or fails after doing so: the feed still sends exactly the log', async () => {
  const id = await t.resource('bms_server');
  const start = await head();
  const { received, stop } = await follow();
  try {
    for (let round = 0; round < 3; round++) {
      // Started in one turn of the event loop: on SQLite, one group commit, in this order.
      const outcomes = await Promise.allSettled([
        a.store.transaction((tx) => appendEvents(tx, [event(id, { type: 'admin' }, `a${round}`)])),
        a.store.transaction(async (tx) => {
          // Reading the log inserts what the group has appended so far.
          await listEvents(tx, a.store.caps, { projectId: t.projectId }, 'desc', 1);
          await appendEvents(tx, [event(id, { type: 'admin' }, `b${round}`)]);
        }),
        a.store.transaction(async (tx) => {
          await appendEvents(tx, [event(id, { type: 'admin' }, `undone${round}`)]);
          await listEvents(tx, a.store.caps, { projectId: t.projectId }, 'desc', 1);
          throw new Error('this write fails');
        }),
        a.store.transaction((tx) => appendEvents(tx, [event(id, { type: 'admin' }, `c${round}`)])),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual([
        'fulfilled',
        'fulfilled',
        'rejected',
        'fulfilled',
      ]);
    }
    const log = (await logged(start)) as { changes: { new: string }[] }[];
    // Every write that succeeded, none of the one that failed (on PostgreSQL the writes run
    // side by side, so their order is not theirs to keep).
    expect(log.map((e) => e.changes[0]!.new).sort()).toEqual(
      [0, 1, 2].flatMap((r) => [`a${r}`, `b${r}`, `c${r}`]).sort(),
    );
    await expect.poll(received, { timeout: 10_000 }).toEqual(log);
  } finally {
    stop();
  }
});

it('events handed over while the feed waits to read the log are sent once: those the read finds are not taken again', async () => {
  const id = await t.resource('bms_server');
  const start = await head();
  // The feed on a view of node a's store through which the test can wake it as another
  // process's commit would (a wake-up with no events: it must read the log).
  let wakeAsOther: (() => void) | undefined;
  const store = Object.create(a.store) as typeof a.store;
  store.onEventsAppended = (listener) => {
    wakeAsOther = () => listener(undefined);
    return a.store.onEventsAppended(listener);
  };
  const feed = new EventFeed(store, (_id: string, json: string) => `${json}\n`);
  const lines: string[] = [];
  const stop = await feed.subscribe({}, undefined, {
    send: (chunk) => lines.push(...chunk.toString().split('\n').filter(Boolean)),
    taken: () => Promise.resolve(),
  });
  try {
    for (let round = 0; round < 3; round++) {
      // A write that holds the store's connection (on SQLite, its one connection) until let go.
      let letGo!: () => void;
      const held = new Promise<void>((resolve) => {
        letGo = resolve;
      });
      let begun!: () => void;
      const writing = new Promise<void>((resolve) => {
        begun = resolve;
      });
      const write = a.store.transaction(async (tx) => {
        await appendEvents(tx, [event(id, { type: 'admin' }, `held${round}`)]);
        begun();
        await held;
      });
      await writing;
      // The feed starts a read of the log, which waits for the connection; the write commits
      // and hands its event over meanwhile; then the read finds that event too.
      wakeAsOther!();
      letGo();
      await write;
      await a.store.transaction((tx) =>
        appendEvents(tx, [event(id, { type: 'admin' }, `after${round}`)]),
      );
    }
    const log = await logged(start);
    expect((log as { changes: { new: string }[] }[]).map((e) => e.changes[0]!.new)).toEqual(
      [0, 1, 2].flatMap((r) => [`held${r}`, `after${r}`]),
    );
    await expect
      .poll(() => lines.map((l) => JSON.parse(l) as unknown), { timeout: 10_000 })
      .toEqual(log);
  } finally {
    stop();
  }
});
