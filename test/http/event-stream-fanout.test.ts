import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventStreamClient, type ReceivedEvent } from '../support/event-stream.js';
import { ADMIN_TOKEN, createHarness, type Harness, json, type Tenant } from '../support/harness.js';

/**
 * SPEC §8 live feed, as many subscribers see it: the events of one change reach every stream
 * whose filters pass them, whole and in order; a client that stops reading is cut off instead of
 * being buffered for without end, and resuming with Last-Event-ID it misses nothing.
 */

/** Bytes a client may leave unread on the server before it is cut off (small, for the test). */
const MAX_UNREAD = 16 * 1024;

let h: Harness;
let base: string;
let t: Tenant;

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

beforeAll(async () => {
  h = await createHarness({ eventStreamMaxUnreadBytes: MAX_UNREAD });
  base = await h.app.listen({ port: 0, host: '127.0.0.1' });
  t = await h.tenant();
});
afterAll(async () => {
  await h?.close();
});

const stream = (query: string, headers: Record<string, string> = {}) =>
  EventStreamClient.open(base, `/admin/v1/events/stream?${query}`, { ...admin, ...headers });

type Tags = { key: string; value: string }[];

let n = 0;
/** Registers resources with their tags in one seed: one transaction, one event each. */
async function seedResources(tags: Tags[], projectId = t.projectId): Promise<string[]> {
  const ids = tags.map(() => `fan-${++n}-${Math.random().toString(36).slice(2, 8)}`);
  await h.seed({
    resources: ids.map((id, i) => ({
      project_id: projectId,
      type: 'modelarts_hyperinstance',
      id,
      tags: tags[i],
    })),
  });
  return ids;
}

async function logged(query: string): Promise<ReceivedEvent['data'][]> {
  const res = await h.inject({ method: 'GET', url: `/admin/v1/events?${query}`, headers: admin });
  expect(res.statusCode, res.body).toBe(200);
  return (json(res) as { events: ReceivedEvent['data'][] }).events;
}

async function setTag(id: string, key: string, value: string): Promise<void> {
  const res = await h.inject({
    method: 'POST',
    url: `/v1/${t.projectId}/dev-servers/hyperinstance/${id}/tags/create`,
    headers: { 'x-auth-token': t.root.token, 'content-type': 'application/json' },
    payload: JSON.stringify({ tags: [{ key, value }] }),
  });
  expect(res.statusCode, res.body).toBe(200);
}

const ids = (events: readonly ReceivedEvent[]) => events.map((e) => e.id);

/** Tags making an event of about 8 KB: 20 of the longest keys and values ModelArts takes. */
const big = (round: number, i: number): Tags =>
  Array.from({ length: 20 }, (_, k) => ({
    key: `big-${String(k).padStart(2, '0')}-${'k'.repeat(121)}`.slice(0, k === 0 ? 6 : 128),
    value: `${round}-${i}-${k}-`.padEnd(255, 'v'),
  }));

describe('live feed fan-out', () => {
  it('the events of one change reach each stream its filters pass, whole and in id order', async () => {
    const project = `project_id=${t.projectId}`;
    const all = await stream(project);
    const twin = await stream(project);
    const owned = await stream(`${project}&key=owner`);
    const [three] = await seedResources([[{ key: 'setup', value: 'x' }]]);
    await all.events(1);
    await twin.events(1);
    const one = await stream(`${project}&resource_id=${three}`);
    try {
      const tags = Array.from(
        { length: 12 },
        (_, i): Tags => [
          // Some values of several bytes a character, between others of one: each chunk is
          // written byte by byte from its frames.
          { key: 'env', value: i % 3 === 0 ? `环境-é${i}` : `e${i}` },
          ...(i % 2 === 1 ? [{ key: 'owner', value: `o${i}` }] : []),
        ],
      );
      const seeded = await seedResources(tags);
      const log = await logged(`${project}&limit=1000`);
      const batch = log.filter((e) => seeded.includes(e.resource_id));
      expect(batch).toHaveLength(12);

      const got = (await all.events(13)).slice(1);
      expect(got.map((e) => e.data)).toEqual(batch);
      expect(got.map((e) => e.id)).toEqual(batch.map((e) => e.id));
      expect((await twin.events(13)).slice(1).map((e) => e.data)).toEqual(batch);
      expect((await owned.events(6)).map((e) => e.data)).toEqual(
        batch.filter((e) => e.changes.some((c) => c.key === 'owner')),
      );

      // A change of resource `three` only: on its own stream, and not on the owner stream,
      // whose next event is the next change of an owner tag.
      await setTag(three!, 'env', 'later');
      await setTag(seeded[0]!, 'owner', 'late');
      const [mine] = await one.events(1);
      expect(mine!.data).toMatchObject({
        resource_id: three,
        changes: [{ key: 'env', old: null, new: 'later' }],
      });
      const ownedNow = await owned.events(7);
      expect(ownedNow).toHaveLength(7);
      expect(ownedNow[6]!.data).toMatchObject({
        resource_id: seeded[0],
        changes: [{ key: 'owner', old: null, new: 'late' }],
      });
      const everything = await all.events(15);
      expect(everything.slice(13).map((e) => e.data.resource_id)).toEqual([three, seeded[0]]);
    } finally {
      for (const s of [all, twin, owned, one]) s.close();
    }
  });

  it('streams on many projects, on none and on a project and a key each receive exactly their events, in id order, none twice, one of them resuming while writes go on', async () => {
    const tenants = await Promise.all(Array.from({ length: 8 }, () => h.tenant()));
    const tag = ++n;
    const projects = tenants.map((x) => x.projectId);
    const [newest] = await logged('order=desc&limit=1');
    const head = newest?.id ?? '0';
    // Per project: two streams alike, one on its owner tags; then a project nothing is written
    // to, the whole log, and owner tags in any project.
    const queries = [
      ...projects.flatMap((p) => [
        `project_id=${p}`,
        `project_id=${p}`,
        `project_id=${p}&key=owner`,
      ]),
      `project_id=p-unwritten-${tag}`,
      '',
      'key=owner',
    ];
    const streams = await Promise.all(queries.map((q) => stream(q)));
    const resumed = `project_id=${projects[1]}`;
    const before = await stream(resumed);
    let after: Awaited<ReturnType<typeof stream>> | undefined;
    try {
      const rounds = 24;
      let done = 0;
      const writes = (async () => {
        for (let round = 0; round < rounds; round++) {
          // One transaction over every project: its events come in one read of the log.
          await h.seed({
            resources: projects.map((p, i) => ({
              project_id: p,
              type: 'modelarts_hyperinstance',
              id: `many-${round}-${i}-${tag}`,
              tags: [
                { key: 'env', value: `e${round}` },
                ...(i % 2 === 1 && round % 2 === 0 ? [{ key: 'owner', value: `o${round}` }] : []),
              ],
            })),
          });
          // And a change of one project alone, through its own API.
          const x = tenants[round % tenants.length]!;
          const res = await h.inject({
            method: 'POST',
            url: `/v1/${x.projectId}/dev-servers/hyperinstance/many-${round}-${round % tenants.length}-${tag}/tags/create`,
            headers: { 'x-auth-token': x.root.token, 'content-type': 'application/json' },
            payload: JSON.stringify({ tags: [{ key: 'owner', value: `late-${round}` }] }),
          });
          expect(res.statusCode, res.body).toBe(200);
          done++;
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      // Awaited below; a failed write fails the test there, not as an unhandled rejection.
      writes.catch(() => {});
      // Away after a few events, back with Last-Event-ID a few rounds later, writes going on.
      const first = await before.events(5);
      before.close();
      const gone = done;
      while (done < Math.min(rounds - 4, gone + 4)) await new Promise((r) => setTimeout(r, 5));
      const seen = [...before.messages];
      after = await stream(resumed, { 'last-event-id': seen.at(-1)!.id! });
      expect(first.length).toBeGreaterThanOrEqual(5);
      await writes;

      const expected = async (query: string) => {
        const events = await logged(`${query}&since=${head}&limit=1000`);
        expect(events.length).toBeLessThan(1000);
        return events;
      };
      for (const [i, query] of queries.entries()) {
        const want = await expected(query);
        const got = await streams[i]!.events(want.length);
        expect(
          got.map((e) => e.data),
          query,
        ).toEqual(want);
        expect(got.map((e) => e.id)).toEqual(want.map((e) => e.id));
      }
      // Every other stream has had the last event: the unwritten project's has had none.
      expect(queries[projects.length * 3]).toMatch(/unwritten/);
      expect(streams[projects.length * 3]!.messages).toEqual([]);

      const want = await expected(resumed);
      const rest = await after.events(want.length - seen.length);
      expect([...seen.map((m) => m.id), ...rest.map((e) => e.id)]).toEqual(want.map((e) => e.id));
      expect(rest.map((e) => e.data)).toEqual(want.slice(seen.length));
    } finally {
      for (const s of [...streams, before, after]) s?.close();
    }
  });

  it('a client that stops reading is closed; resuming with Last-Event-ID it gets every event it missed, none twice', async () => {
    const filter = `project_id=${t.projectId}&key=big-00`;
    const fast = await stream(filter);
    const slow = await stream(filter);
    slow.pause();
    const dropped = () => h.logs().includes('event stream closed: its client is not reading');
    let written = 0;
    try {
      // Writes until the server gives up on the client (its connection's own buffers take
      // a few megabytes first, how many depending on the system).
      for (let round = 0; round < 60 && !dropped(); round++) {
        await seedResources(Array.from({ length: 50 }, (_, i) => big(round, i)));
        written += 50;
        await fast.events(written);
      }
      expect(dropped()).toBe(true);
      // Then more than one page of the log (500 events) the client misses while away.
      for (let round = 0; round < 12; round++) {
        await seedResources(Array.from({ length: 50 }, (_, i) => big(100 + round, i)));
        written += 50;
      }
      const all = await fast.events(written);
      expect(all).toHaveLength(written);

      slow.resume();
      await slow.until(() => slow.closed);
      const before = await slow.events(0);
      expect(before.length).toBeGreaterThan(0);
      expect(before.length).toBeLessThan(written - 500);
      expect(ids(before)).toEqual(ids(all.slice(0, before.length)));

      const again = await stream(filter, { 'last-event-id': before.at(-1)!.id });
      try {
        const rest = await again.events(written - before.length);
        expect(ids([...before, ...rest])).toEqual(ids(all));
        expect(again.closed).toBe(false);
      } finally {
        again.close();
      }
    } finally {
      fast.close();
      slow.close();
    }
  });

  it('a client catching up from far back is sent the log as it reads it, then everything written meanwhile', async () => {
    // A project of its own: its log is this test's alone.
    const own = await h.tenant();
    const filter = `project_id=${own.projectId}&key=big-00`;
    // A backlog under one page of the log (500 events) but of about 6 MB, more than the
    // connection's buffers take from a client not reading: 450 changes of 19 long values
    // (old and new) that add big-00, after the creations (without big-00) the filter skips.
    const created: string[] = [];
    for (let round = 0; round < 5; round++) {
      const batch = Array.from({ length: 90 }, (_, i) => big(round, i).slice(1));
      created.push(...(await seedResources(batch, own.projectId)));
    }
    for (let round = 0; round < 5; round++) {
      await h.seed({
        resources: created.slice(round * 90, round * 90 + 90).map((id, i) => ({
          project_id: own.projectId,
          type: 'modelarts_hyperinstance',
          id,
          tags: big(100 + round, i),
        })),
      });
    }
    const late = await stream(`${filter}&since=0`);
    late.pause();
    const live = await stream(filter);
    try {
      // While it is still being sent its backlog, more events than a catch-up holds back
      // (1,000): it reads those from the log instead.
      let written = 0;
      for (let round = 0; round < 2; round++) {
        await seedResources(
          Array.from({ length: 600 }, (_, i) => [{ key: 'big-00', value: `live-${round}-${i}` }]),
          own.projectId,
        );
        written += 600;
      }
      await live.events(written);
      late.resume();
      const got = await late.events(450 + written);
      const log: string[] = [];
      for (let since = '0'; ; ) {
        const page = await logged(`${filter}&since=${since}&limit=1000`);
        log.push(...page.map((e) => e.id));
        if (page.length < 1000) break;
        since = page.at(-1)!.id;
      }
      expect(log).toHaveLength(450 + written);
      expect(ids(got)).toEqual(log);
      expect(late.closed).toBe(false);
    } finally {
      late.close();
      live.close();
    }
  });
});
