import { afterAll, beforeAll, expect, it } from 'vitest';
import { EventFeed } from '../../src/admin/event-feed.js';
import { ADMIN_TOKEN, createHarness, type Harness, type Tenant } from '../support/harness.js';
import { BMS } from '../support/service-spec.js';
import { TagApi } from '../support/tag-api.js';

/**
 * The feed keeps its fan-out to a small share of the event loop: after a fan-out that took long
 * (here a subscriber whose socket write takes 20 ms, as 1,000 subscribers together would), it
 * rests before reading the log again, and the events committed meanwhile go out together, in
 * order, none lost — rather than one costly fan-out per commit. And it shares the work among
 * many subscribers, most following a project of their own, without any of them receiving an
 * event its filter does not pass, or one twice, or out of order.
 */

let h: Harness;
let t: Tenant;

beforeAll(async () => {
  h = await createHarness();
  t = await h.tenant();
});
afterAll(() => h?.close());

/** Sets `key=value` on the tenant's BMS server `id` with its token; expects it done. */
async function writeTag(id: string, key: string, value: string): Promise<void> {
  const res = await new TagApi(h, t, BMS).create(id, [{ key, value }]);
  expect(res.statusCode, res.body).toBe(204);
}

/** The ids of the log's events that `query` selects, in id order. */
async function loggedIds(query: string): Promise<string[]> {
  const res = await h.inject({
    method: 'GET',
    url: `/admin/v1/events?${query}&order=asc`,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  return (JSON.parse(res.body) as { events: { id: string }[] }).events.map((e) => e.id);
}

/** A sink that records when each chunk came and the ids in it. */
function timedSink(into: { at: number; ids: string[] }[]) {
  return {
    send(chunk: Buffer) {
      into.push({ at: performance.now(), ids: chunk.toString().split('\n').filter(Boolean) });
    },
    taken: () => Promise.resolve(),
  };
}

it('events committed while the feed rests after a costly fan-out arrive together, all and in order', async () => {
  const feed = new EventFeed(h.store, (id: string) => `${id}\n`);
  const chunks: string[] = [];
  const unsubscribe = await feed.subscribe({ projectId: t.projectId }, undefined, {
    send(chunk) {
      chunks.push(chunk.toString());
      const until = performance.now() + 20;
      while (performance.now() < until);
    },
    taken: () => Promise.resolve(),
  });
  try {
    const id = await t.resource('bms_server');
    for (let i = 0; i < 5; i++) await writeTag(id, 'k', `v${i}`);
    const logged = await loggedIds(`project_id=${t.projectId}`);
    expect(logged.length).toBeGreaterThanOrEqual(5);
    await expect
      .poll(() => chunks.join('').split('\n').filter(Boolean), { timeout: 10_000 })
      .toEqual(logged);
    // The first write's event went out alone; the rest waited for the feed's rest and went
    // out together: fewer chunks than events.
    expect(chunks.length).toBeLessThan(logged.length);
  } finally {
    unsubscribe();
  }
});

it('under a steady stream of writes, a subscriber gets its events in chunks at least 20 ms apart, the first at once, all and in order', async () => {
  const feed = new EventFeed(h.store, (id: string) => `${id}\n`);
  const sends: { at: number; ids: string[] }[] = [];
  const unsubscribe = await feed.subscribe({ projectId: t.projectId }, undefined, timedSink(sends));
  try {
    const id = await t.resource('bms_server');
    const first = performance.now();
    await writeTag(id, 'steady', 'w0');
    // The first event after a quiet spell is not held back for the gap.
    await expect.poll(() => sends.length, { timeout: 5_000 }).toBe(1);
    expect(sends[0]!.at - first).toBeLessThan(1_000);
    for (let i = 1; i < 40; i++) await writeTag(id, 'steady', `w${i}`);
    const logged = await loggedIds(`project_id=${t.projectId}&resource_id=${id}`);
    expect(logged).toHaveLength(40);
    await expect.poll(() => sends.flatMap((s) => s.ids), { timeout: 10_000 }).toEqual(logged);
    for (let i = 1; i < sends.length; i++) {
      // Timers may fire up to a millisecond early by this clock.
      expect(sends[i]!.at - sends[i - 1]!.at).toBeGreaterThanOrEqual(19);
    }
    expect(sends.length).toBeLessThan(logged.length);
  } finally {
    unsubscribe();
  }
});

it('with ten subscribers receiving, each gets its chunks at least 50 ms apart (5 ms a socket write), all and in order', async () => {
  const feed = new EventFeed(h.store, (id: string) => `${id}\n`);
  const sends: { at: number; ids: string[] }[][] = Array.from({ length: 10 }, () => []);
  const unsubscribes = await Promise.all(
    sends.map((mine) => feed.subscribe({ projectId: t.projectId }, undefined, timedSink(mine))),
  );
  try {
    const id = await t.resource('bms_server');
    for (let i = 0; i < 30; i++) await writeTag(id, 'ten', `t${i}`);
    const logged = await loggedIds(`project_id=${t.projectId}&resource_id=${id}`);
    expect(logged).toHaveLength(30);
    for (const mine of sends) {
      await expect.poll(() => mine.flatMap((s) => s.ids), { timeout: 10_000 }).toEqual(logged);
      for (let i = 1; i < mine.length; i++) {
        // Timers may fire up to a millisecond early by this clock.
        expect(mine[i]!.at - mine[i - 1]!.at).toBeGreaterThanOrEqual(49);
      }
    }
  } finally {
    for (const unsubscribe of unsubscribes) unsubscribe();
  }
});

it('a thousand subscribers, most on a project of their own, each receive exactly the events their filter passes, once and in id order', async () => {
  const feed = new EventFeed(h.store, (id: string) => `${id}\n`);
  const u = Math.random().toString(36).slice(2, 8);
  const domain = `d-many-${u}`;
  const written = Array.from({ length: 20 }, (_, i) => `p-many-${u}-${i}`);
  await h.seed({
    domains: [{ id: domain, name: domain }],
    projects: written.map((id, i) => ({ id, name: `region-${i}`, domain_id: domain })),
  });
  const log = async (query: string, since: string) => {
    const res = await h.inject({
      method: 'GET',
      url: `/admin/v1/events?${query}&since=${since}&limit=1000`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(res.statusCode, res.body).toBe(200);
    const events = (JSON.parse(res.body) as { events: { id: string }[] }).events;
    expect(events.length).toBeLessThan(1000);
    return events.map((e) => e.id);
  };
  const [newest] = await log('order=desc', '0');
  const head = newest ?? '0';

  /** What a subscriber received, event ids in the order they came. */
  const received = (taken: () => Promise<void> = () => Promise.resolve()) => {
    const ids: string[] = [];
    return {
      ids,
      sink: { send: (c: Buffer) => ids.push(...c.toString().split('\n').filter(Boolean)), taken },
    };
  };
  // Per written project: two subscribers alike and one on its owner tags; 940 on projects
  // nothing is written to, each its own; the whole log; owner tags in any project.
  const queries = [
    ...written.flatMap((p) => [`project_id=${p}`, `project_id=${p}`, `project_id=${p}&key=owner`]),
    ...Array.from({ length: 940 }, (_, i) => `project_id=p-many-${u}-idle-${i}`),
    '',
    'key=owner',
  ];
  const filterOf = (query: string) => {
    const q = new URLSearchParams(query);
    return {
      ...(q.has('project_id') ? { projectId: q.get('project_id')! } : {}),
      ...(q.has('key') ? { key: q.get('key')! } : {}),
    };
  };
  const subscribers = queries.map(() => received());
  const unsubscribes = await Promise.all(
    queries.map((q, i) => feed.subscribe(filterOf(q), undefined, subscribers[i]!.sink)),
  );
  expect(feed.size).toBe(queries.length);

  const rounds = 16;
  let done = 0;
  const writes = (async () => {
    for (let round = 0; round < rounds; round++) {
      // One transaction over every written project: its events come in one read of the log.
      await h.seed({
        resources: written.map((p, i) => ({
          project_id: p,
          type: 'modelarts_hyperinstance',
          id: `many-${round}-${i}`,
          tags: [
            { key: 'env', value: `e${round}` },
            ...((round + i) % 3 === 0 ? [{ key: 'owner', value: `o${round}` }] : []),
          ],
        })),
      });
      done++;
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  writes.catch(() => {});
  // Two more resume from the start while the writes go on, one on the project's owner tags,
  // taking their catch-up slowly, so that live events arrive meanwhile and are held back.
  while (done < 4) await new Promise((r) => setTimeout(r, 5));
  const resumed = [`project_id=${written[3]}`, `project_id=${written[3]}&key=owner`];
  const late = resumed.map(() => received(() => new Promise((r) => setTimeout(r, 100))));
  unsubscribes.push(
    ...(await Promise.all(
      resumed.map((q, i) => feed.subscribe(filterOf(q), Number(head), late[i]!.sink)),
    )),
  );
  try {
    await writes;
    const all = [...queries, ...resumed];
    const got = [...subscribers, ...late];
    for (const [i, query] of all.entries()) {
      const want = await log(query, head);
      const { ids } = got[i]!;
      await expect.poll(() => ids.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(want.length);
      expect(ids, query).toEqual(want);
    }
    expect(subscribers[0]!.ids.length).toBeGreaterThan(rounds - 1);
  } finally {
    for (const unsubscribe of unsubscribes) unsubscribe();
  }
});
