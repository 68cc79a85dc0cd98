import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { exportDatabase, importDatabase } from '../../src/admin/backup.js';
import { pruneEventLog } from '../../src/admin/event-retention.js';
import { parseDatabaseUrl, Store } from '../../src/store/database.js';
import { EventStreamClient } from '../support/event-stream.js';
import { ADMIN_TOKEN, createHarness, type Harness, json, type Tenant } from '../support/harness.js';
import { BMS } from '../support/service-spec.js';
import { TagApi } from '../support/tag-api.js';
import { createTestDatabase, openTestStore } from '../support/test-store.js';

/**
 * SPEC §8 reads of one resource's history (as-of, the events list and stream filtered by
 * resource, CTS traces by resource), and of a project's or a time span's, whether the events are
 * in the change log's indexes or not yet: on SQLite those are filled apart from the writes
 * (migrations 0014 and 0015), and reads take them up to their mark and scan the log after it.
 * Here background indexing is off and the indexes are filled by hand between writes, so each read
 * spans both parts. What every read must answer is taken from the whole log, read unfiltered.
 */

interface Event {
  id: string;
  time: string;
  project_id: string;
  resource_type: string;
  resource_id: string;
  request_id: string;
  changes: { key: string; old: string | null; new: string | null }[];
}

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const DAY = 86_400_000;

let h: Harness;
let t: Tenant;
let other: Tenant;
let base: string;

beforeAll(async () => {
  h = await createHarness({ store: { backgroundEventIndex: false } });
  base = await h.app.listen({ port: 0, host: '127.0.0.1' });
  t = await h.tenant();
  other = await h.tenant();
});
afterAll(() => h.close());

async function get(url: string): Promise<unknown> {
  const res = await h.inject({ method: 'GET', url, headers: admin });
  expect(res.statusCode, res.body).toBe(200);
  return json(res);
}

async function events(query: string): Promise<{ events: Event[]; next_marker: string | null }> {
  return (await get(`/admin/v1/events?${query}`)) as {
    events: Event[];
    next_marker: string | null;
  };
}

/** Every event a query selects, page by page (`limit` each), in `order`. */
async function walk(query: string, order: 'asc' | 'desc', limit: number): Promise<Event[]> {
  const all: Event[] = [];
  let marker: string | null = null;
  do {
    const from: string =
      marker === null ? '' : `&${order === 'asc' ? 'since' : 'before'}=${marker}`;
    const page = await events(`${query}&order=${order}&limit=${limit}${from}`);
    expect(page.events.length).toBeLessThanOrEqual(limit);
    all.push(...page.events);
    marker = page.next_marker;
  } while (marker !== null);
  return all;
}

async function setTags(
  tenant: Tenant,
  id: string,
  action: 'create' | 'delete',
  tags: { key: string; value?: string }[],
): Promise<void> {
  const res = await h.inject({
    method: 'POST',
    url: `/v1/${tenant.projectId}/baremetalservers/${id}/tags/action`,
    headers: { 'x-auth-token': tenant.root.token, 'content-type': 'application/json' },
    payload: JSON.stringify({ action, tags }),
  });
  expect(res.statusCode, res.body).toBe(204);
}

/** The tags a resource had after each of its events, replayed from the events themselves. */
function replay(log: readonly Event[]): Map<string, { key: string; value: string }[]> {
  const tags = new Map<string, string>();
  const after = new Map<string, { key: string; value: string }[]>();
  for (const e of log) {
    for (const c of e.changes) {
      if (c.new === null) tags.delete(c.key);
      else tags.set(c.key, c.new);
    }
    const sorted = [...tags.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    after.set(
      e.id,
      sorted.map(([key, value]) => ({ key, value })),
    );
  }
  return after;
}

/** Every event of the log, oldest first: read unfiltered, which no index serves. */
async function wholeLog(): Promise<Event[]> {
  return walk('', 'asc', 1000);
}

/**
 * Checks every read of one resource's history against its full log (from `wholeLog`): `log` is
 * what the resource's events must be.
 */
async function checkResourceReads(tenant: Tenant, id: string, log: readonly Event[]) {
  const query = `project_id=${tenant.projectId}&resource_type=bms_server&resource_id=${id}`;
  expect((await events(`${query}&limit=1000`)).events).toEqual(log);
  for (const limit of [1, 2, 3]) {
    expect(await walk(query, 'asc', limit)).toEqual(log);
    expect(await walk(query, 'desc', limit)).toEqual([...log].reverse());
  }
  // Filters combine with the resource: a key, a time window, an id window.
  const withKey = log.filter((e) => e.changes.some((c) => c.key === 'b'));
  expect((await events(`${query}&key=b&limit=1000`)).events).toEqual(withKey);
  const mid = log[Math.floor(log.length / 2)]!;
  expect((await events(`${query}&to=${encodeURIComponent(mid.time)}&limit=1000`)).events).toEqual(
    log.filter((e) => e.time <= mid.time),
  );
  expect((await events(`${query}&since=${log[1]!.id}&limit=1000`)).events).toEqual(log.slice(2));

  // As of each event, by id and by time, and before the first.
  const tagsAfter = replay(log);
  const asOf = async (at: string) =>
    get(
      `/admin/v1/projects/${tenant.projectId}/resources/bms_server/${id}/tags?as_of=${encodeURIComponent(at)}`,
    );
  for (const e of log) {
    expect(await asOf(e.id)).toEqual({ tags: tagsAfter.get(e.id), as_of_event: e.id });
  }
  const last = log.at(-1)!;
  expect(await asOf(last.time)).toEqual({ tags: tagsAfter.get(last.id), as_of_event: last.id });
  expect(await asOf(String(BigInt(log[0]!.id) - 1n))).toEqual({ tags: [], as_of_event: null });

  // CTS traces of the resource, newest first, page by page.
  const resourceTraces = await allTraces(tenant, `resource_id=${id}&limit=2`);
  for (const tr of resourceTraces) expect(tr.resource_id).toBe(id);
  const traces = resourceTraces.map((tr) => tr.request_id);
  // Without a type, the id's events of every type in the project.
  const anyType = (await events(`project_id=${tenant.projectId}&resource_id=${id}&limit=1000`))
    .events;
  expect(anyType.filter((e) => e.resource_type === 'bms_server')).toEqual(log);
  expect(traces).toEqual(anyType.map((e) => e.request_id).reverse());

  await expectFeedFromStart(query, log);
}

/** Every CTS trace of `tenant`'s project that `query` selects, newest first, page by page. */
async function allTraces(
  tenant: Tenant,
  query: string,
): Promise<{ request_id: string; resource_id: string }[]> {
  const traces: { request_id: string; resource_id: string }[] = [];
  let next = '';
  for (;;) {
    const res = await h.inject({
      method: 'GET',
      url: `/v3/${tenant.projectId}/traces?trace_type=system&${query}${next}`,
      headers: { 'x-auth-token': tenant.root.token },
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = json(res) as {
      traces: { request_id: string; resource_id: string }[];
      meta_data: { marker: string | null };
    };
    traces.push(...body.traces);
    if (body.meta_data.marker === null) return traces;
    next = `&next=${body.meta_data.marker}`;
  }
}

/** The live feed `query` selects, resumed from before the first event: `log`, in order, once. */
async function expectFeedFromStart(query: string, log: readonly Event[]): Promise<void> {
  const s = await EventStreamClient.open(base, `/admin/v1/events/stream?${query}&since=0`, admin);
  try {
    const got = await s.events(log.length);
    expect(got.map((m) => m.data)).toEqual(log);
  } finally {
    s.close();
  }
}

describe('reads by resource, indexed and not yet indexed', () => {
  it('see every event of the resource in both parts, and none of resources sharing its id', async () => {
    const id = `srv-${randomBytes(4).toString('hex')}`;
    // The same id in another project, and as another type here: the same index key, other resources.
    await t.resource('bms_server', [{ key: 'a', value: '0' }], id);
    await t.resource('ddm_instance', [{ key: 'a', value: 'ddm' }], id);
    await other.resource('bms_server', [{ key: 'a', value: 'other' }], id);
    const noise = await t.resource('bms_server');
    const byProject = async () =>
      (await wholeLog()).filter(
        (e) =>
          e.project_id === t.projectId && e.resource_type === 'bms_server' && e.resource_id === id,
      );

    const steps: (() => Promise<void>)[] = [
      () => setTags(t, id, 'create', [{ key: 'b', value: '1' }]),
      () => setTags(other, id, 'create', [{ key: 'b', value: 'other' }]),
      () => setTags(t, noise, 'create', [{ key: 'b', value: 'n' }]),
      () => setTags(t, id, 'create', [{ key: 'a', value: '2' }]),
      () => setTags(t, id, 'delete', [{ key: 'b' }]),
      () => setTags(t, id, 'create', [{ key: 'b', value: '3' }]),
    ];
    // Nothing of this resource indexed yet, then the first half, then everything.
    for (const [i, step] of steps.entries()) {
      await step();
      if (i === 2) await h.store.indexEvents();
    }
    const log = await byProject();
    expect(log).toHaveLength(5);
    await checkResourceReads(t, id, log);
    await setTags(t, id, 'create', [{ key: 'c', value: '4' }]);
    await checkResourceReads(t, id, await byProject());
    await h.store.indexEvents();
    await checkResourceReads(t, id, await byProject());

    // By resource id alone: that id's events in every project and type.
    const everywhere = (await events(`resource_id=${id}&limit=1000`)).events;
    expect(everywhere.map((e) => `${e.project_id}/${e.resource_type}`).sort()).toEqual(
      [
        ...Array(6).fill(`${t.projectId}/bms_server`),
        `${t.projectId}/ddm_instance`,
        `${other.projectId}/bms_server`,
        `${other.projectId}/bms_server`,
      ].sort(),
    );
  });

  it('after deregistration, as of any moment of the resource’s life', async () => {
    const id = await t.resource('bms_server', [{ key: 'a', value: '1' }]);
    await setTags(t, id, 'create', [{ key: 'b', value: '2' }]);
    await h.store.indexEvents();
    const del = await h.inject({
      method: 'DELETE',
      url: `/admin/v1/projects/${t.projectId}/resources/bms_server/${id}`,
      headers: admin,
    });
    expect(del.statusCode).toBe(204);
    const log = (await events(`project_id=${t.projectId}&limit=1000`)).events.filter(
      (e) => e.resource_id === id,
    );
    expect(log).toHaveLength(3);
    await checkResourceReads(t, id, log);
    expect(await get(`/admin/v1/projects/${t.projectId}/resources/bms_server/${id}/tags`)).toEqual({
      tags: [],
      as_of_event: log[2]!.id,
    });
  });
});

/** The id up to which the index is complete (SQLite); undefined where it is the log's own. */
async function indexedThrough(store: Store = h.store): Promise<number | undefined> {
  if (!store.caps.deferredEventIndex) return undefined;
  const { rows } = await sql<{ n: number }>`select indexed_through as n
    from event_indexes_mark`.execute(store.db);
  return Number(rows[0]!.n);
}

/** Index rows of events no longer in the log (SQLite; none where the indexes are the log's own). */
async function orphanIndexRows(): Promise<number> {
  if (!h.store.caps.deferredEventIndex) return 0;
  let n = 0;
  for (const table of ['event_resource_index', 'event_project_index', 'event_time_index']) {
    const { rows } = await sql<{ n: number }>`select count(*) as n from ${sql.table(table)} x
      where not exists (select 1 from events e where e.id = x.event_id)`.execute(h.store.db);
    n += Number(rows[0]!.n);
  }
  return n;
}

/**
 * Checks the reads of one project's events, and of a time span's, against the whole log: the
 * events list (filters combined, paged both ways), CTS traces, the live feed resumed from the
 * start.
 */
async function checkProjectAndTimeReads(tenant: Tenant): Promise<void> {
  const all = await wholeLog();
  const log = all.filter((e) => e.project_id === tenant.projectId);
  expect(log.length).toBeGreaterThanOrEqual(5);
  const query = `project_id=${tenant.projectId}`;
  expect((await events(`${query}&limit=1000`)).events).toEqual(log);
  for (const limit of [1, 2, 5]) {
    expect(await walk(query, 'asc', limit)).toEqual(log);
    expect(await walk(query, 'desc', limit)).toEqual([...log].reverse());
  }
  const from = log[1]!.time;
  const to = log.at(-2)!.time;
  const span = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
  const inSpan = (e: Event) => e.time >= from && e.time <= to;
  expect(await walk(`${query}&${span}`, 'asc', 2)).toEqual(log.filter(inSpan));
  expect((await events(`${query}&key=b&limit=1000`)).events).toEqual(
    log.filter((e) => e.changes.some((c) => c.key === 'b')),
  );
  // A time span alone, across every project; and its start or end alone.
  expect(await walk(span, 'asc', 3)).toEqual(all.filter(inSpan));
  expect(await walk(span, 'desc', 3)).toEqual(all.filter(inSpan).reverse());
  expect((await events(`from=${encodeURIComponent(to)}&limit=1000`)).events).toEqual(
    all.filter((e) => e.time >= to),
  );
  expect(await walk(`to=${encodeURIComponent(from)}`, 'desc', 4)).toEqual(
    all.filter((e) => e.time <= from).reverse(),
  );

  // CTS traces of the project, newest first, page by page.
  const traces = (await allTraces(tenant, 'limit=3')).map((tr) => tr.request_id);
  expect(traces).toEqual(log.map((e) => e.request_id).reverse());

  await expectFeedFromStart(query, log);
}

describe('reads by project and by time span, indexed and not yet indexed', () => {
  it('see every event of the project or span in both parts, and no other', async () => {
    const a = await h.tenant();
    const b = await h.tenant();
    const ids = [await a.resource('bms_server'), await a.resource('bms_server')];
    const theirs = await b.resource('bms_server');
    const pause = () => new Promise((r) => setTimeout(r, 3));
    const steps: (() => Promise<void>)[] = [
      () => setTags(a, ids[0]!, 'create', [{ key: 'a', value: '1' }]),
      () => setTags(b, theirs, 'create', [{ key: 'b', value: 'theirs' }]),
      () => setTags(a, ids[1]!, 'create', [{ key: 'b', value: '2' }]),
      () => setTags(a, ids[0]!, 'create', [{ key: 'b', value: '3' }]),
      () => setTags(b, theirs, 'delete', [{ key: 'b' }]),
      () => setTags(a, ids[1]!, 'delete', [{ key: 'b' }]),
      () => setTags(a, ids[0]!, 'create', [{ key: 'c', value: '4' }]),
    ];
    // Some of the project's events indexed, then all, each a moment apart.
    for (const [i, step] of steps.entries()) {
      await step();
      await pause();
      if (i === 3) await h.store.indexEvents();
    }
    await checkProjectAndTimeReads(a);
    await h.store.indexEvents();
    await checkProjectAndTimeReads(a);

    // A reset of one project takes its events and their index rows, and leaves the other's.
    const theirsBefore = (await wholeLog()).filter((e) => e.project_id === b.projectId);
    const reset = await h.inject({
      method: 'POST',
      url: `/admin/v1/projects/${a.projectId}/reset`,
      headers: admin,
    });
    expect(reset.statusCode, reset.body).toBeLessThan(300);
    expect(await orphanIndexRows()).toBe(0);
    expect((await events(`project_id=${a.projectId}`)).events).toEqual([]);
    expect((await events(`project_id=${b.projectId}&limit=1000`)).events).toEqual(theirsBefore);
  });
});

describe('the index follows what is removed from the log', () => {
  it('retention pruning and a project reset take the index rows of their events', async () => {
    const tenant = await h.tenant();
    const id = await tenant.resource('bms_server', [{ key: 'a', value: 'old' }]);
    await h.store.indexEvents();
    await new Promise((r) => setTimeout(r, 5));
    const boundary = Date.now();
    await new Promise((r) => setTimeout(r, 5));
    await setTags(tenant, id, 'create', [{ key: 'a', value: 'new' }]);
    await h.store.indexEvents();

    expect(await pruneEventLog(h.store, 1, boundary + DAY)).toBeGreaterThan(0);
    expect(await orphanIndexRows()).toBe(0);
    const kept = (await events(`project_id=${tenant.projectId}&resource_id=${id}`)).events;
    expect(kept.map((e) => e.changes)).toEqual([[{ key: 'a', old: 'old', new: 'new' }]]);

    const reset = await h.inject({
      method: 'POST',
      url: `/admin/v1/projects/${tenant.projectId}/reset`,
      headers: admin,
    });
    expect(reset.statusCode, reset.body).toBeLessThan(300);
    expect(await orphanIndexRows()).toBe(0);
    expect((await events(`resource_id=${id}`)).events).toEqual([]);
  });
});

describe('background indexing', () => {
  it('indexes the log a moment after writes, and reads answer the same throughout', async () => {
    const node = await createHarness({ databaseUrl: h.databaseUrl, keys: h.keys });
    try {
      const id = await t.resource('bms_server');
      const write = async (value: string) => {
        const res = await new TagApi(node, t, BMS).create(id, [{ key: 'env', value }]);
        expect(res.statusCode, res.body).toBe(204);
      };
      await write('1');
      await write('2');
      const newest = (await events(`project_id=${t.projectId}&order=desc&limit=1`)).events[0]!;
      if (h.store.caps.deferredEventIndex) {
        await vi.waitFor(
          async () => expect(await indexedThrough()).toBeGreaterThanOrEqual(Number(newest.id)),
          { timeout: 10_000, interval: 50 },
        );
      }
      const log = (await events(`project_id=${t.projectId}&resource_id=${id}`)).events;
      expect(log.map((e) => e.changes[0]!.new)).toEqual(['1', '2']);
      expect(log.at(-1)!.id).toBe(newest.id);
    } finally {
      await node.close();
    }
  });
});

describe('export and import', () => {
  it('the imported log is indexed again: reads by resource answer as before', async () => {
    const id = await t.resource('bms_server', [{ key: 'a', value: '1' }]);
    await setTags(t, id, 'create', [{ key: 'b', value: '2' }]);
    await h.store.indexEvents();
    await setTags(t, id, 'delete', [{ key: 'a' }]);
    const query = `project_id=${t.projectId}&resource_type=bms_server&resource_id=${id}`;
    const original = (await events(query)).events;
    expect(original).toHaveLength(3);
    const asOf = (of: Harness, at: string) =>
      of.inject({
        method: 'GET',
        url: `/admin/v1/projects/${t.projectId}/resources/bms_server/${id}/tags?as_of=${at}`,
        headers: admin,
      });
    const lines: string[] = [];
    await exportDatabase(h.store, async (text) => {
      lines.push(...text.split('\n').filter((l) => l !== ''));
    });
    const target = await openTestStore(undefined, { backgroundEventIndex: false });
    try {
      await importDatabase(
        target.store,
        (async function* () {
          yield* lines;
        })(),
      );
      const newest = (await events('order=desc&limit=1')).events[0]!;
      const through = await indexedThrough(target.store);
      if (through !== undefined) expect(through).toBe(Number(newest.id));
      const restored = await createHarness({ databaseUrl: target.database.url, keys: h.keys });
      try {
        const res = await restored.inject({
          method: 'GET',
          url: `/admin/v1/events?${query}`,
          headers: admin,
        });
        expect((json(res) as { events: Event[] }).events).toEqual(original);
        for (const e of original) {
          expect(json(await asOf(restored, e.id))).toEqual(json(await asOf(h, e.id)));
        }
      } finally {
        await restored.close();
      }
    } finally {
      await target.close();
    }
  });
});

describe('an export made before the indexes by project and time (schema 0014)', () => {
  it('imports; reads by project and time answer before and after the indexer catches up', async () => {
    const id = await t.resource('bms_server', [{ key: 'a', value: '1' }]);
    await setTags(t, id, 'create', [{ key: 'b', value: '2' }]);
    const lines: string[] = [];
    await exportDatabase(h.store, async (text) => {
      lines.push(...text.split('\n').filter((l) => l !== ''));
    });
    // At 0014 the export had the same tables: neither it nor 0015 adds one that is exported.
    const header = JSON.parse(lines[0]!) as { schema: string };
    header.schema = '0014-event-resource-index';
    lines[0] = JSON.stringify(header);
    const all = await wholeLog();
    const project = all.filter((e) => e.project_id === t.projectId);
    const span = `from=${encodeURIComponent(project[0]!.time)}`;
    // A new database, not migrated: the import takes it to the export's schema, then on.
    const database = await createTestDatabase();
    const target = Store.open(parseDatabaseUrl(database.url), { backgroundEventIndex: false });
    try {
      await importDatabase(
        target,
        (async function* () {
          yield* lines;
        })(),
      );
      const restored = await createHarness({
        databaseUrl: database.url,
        keys: h.keys,
        store: { backgroundEventIndex: false },
      });
      try {
        const read = async (query: string) => {
          const res = await restored.inject({
            method: 'GET',
            url: `/admin/v1/events?${query}&limit=1000`,
            headers: admin,
          });
          expect(res.statusCode, res.body).toBe(200);
          return (json(res) as { events: Event[] }).events;
        };
        const check = async () => {
          expect(await read(`project_id=${t.projectId}`)).toEqual(project);
          expect(await read(span)).toEqual(all.filter((e) => e.time >= project[0]!.time));
        };
        await check();
        expect(await target.indexEvents()).toBe(target.caps.deferredEventIndex ? all.length : 0);
        await check();
      } finally {
        await restored.close();
      }
    } finally {
      await target.close();
      await database.drop();
    }
  });
});
