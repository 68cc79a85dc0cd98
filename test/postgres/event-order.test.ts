import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportDatabase, importDatabase } from '../../src/admin/backup.js';
import type { NewChangeEvent } from '../../src/core/change-event.js';
import { writeChange } from '../../src/store/change-store.js';
import { parseDatabaseUrl, Store } from '../../src/store/database.js';
import { appendEvents } from '../../src/store/events-store.js';
import type { Executor } from '../../src/store/executor.js';
import { findResourceWithTags } from '../../src/store/tags-store.js';
import { EventStreamClient } from '../support/event-stream.js';
import { ADMIN_TOKEN, createHarness, type Harness, json, type Tenant } from '../support/harness.js';
import { BMS } from '../support/service-spec.js';
import { TagApi } from '../support/tag-api.js';
import { createPostgresDatabase } from '../support/test-store.js';

/**
 * PostgreSQL event ids follow the writing transaction's id, not its commit (migration 0013): a
 * transaction with a smaller id can commit after one with a larger. A reader tailing the log by
 * id must still never skip the event of the one that commits later, nor see a rolled-back one;
 * and ids must go on above those a restore or the sequence of migration 0009 left.
 */

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

interface Event {
  readonly id: string;
  readonly resource_id: string;
  readonly request_id: string;
  readonly changes: { key: string; old: string | null; new: string | null }[];
}

let h: Harness;
let t: Tenant;
let base: string;

beforeAll(async () => {
  h = await createHarness({ eventKeepAliveMs: 50 });
  base = await h.app.listen({ port: 0, host: '127.0.0.1' });
  t = await h.tenant();
});
afterAll(() => h?.close());

/** Sets `key=value` on a BMS server through `node`; resolves with the request id once acked. */
async function write(node: Harness, id: string, key: string, value: string): Promise<string> {
  const requestId = randomUUID();
  const res = await new TagApi(node, t, BMS).create(id, [{ key, value }], {
    'x-request-id': requestId,
  });
  expect(res.statusCode, res.body).toBe(204);
  return requestId;
}

async function events(node: Harness, query: string): Promise<Event[]> {
  const res = await node.inject({
    method: 'GET',
    url: `/admin/v1/events?${query}`,
    headers: admin,
  });
  expect(res.statusCode, res.body).toBe(200);
  return (json(res) as { events: Event[] }).events;
}

/** The id of the project's newest event, as a reader that starts now would tail from. */
async function newest(): Promise<string> {
  const [last] = await events(h, `project_id=${t.projectId}&order=desc&limit=1`);
  return last?.id ?? '0';
}

/**
 * A transaction of its own on the database (another writer of the log), which appends one event
 * of `resourceId` when told; it takes its transaction id at once.
 */
async function otherWriter(resourceId: string) {
  const client = new pg.Client({ connectionString: h.databaseUrl });
  await client.connect();
  await client.query('begin');
  await client.query('select pg_current_xact_id()');
  const requestId = randomUUID();
  let open = true;
  return {
    requestId,
    append: () =>
      client.query(
        `insert into events (time, domain_id, project_id, resource_type, resource_id, service,
           operation, principal_type, source_ip, request_id, changes)
         values ($1, $2, $3, 'bms_server', $4, 'admin', 'test', 'admin', '127.0.0.1', $5,
           '[{"key":"other","old":null,"new":"1"}]')`,
        [new Date().toISOString(), t.domainId, t.projectId, resourceId, requestId],
      ),
    /** Commits or rolls back, and disconnects; once only. */
    async end(how: 'commit' | 'rollback') {
      if (!open) return;
      open = false;
      try {
        await client.query(how);
      } finally {
        await client.end();
      }
    },
  };
}

describe('a transaction that began earlier commits later', () => {
  it('its event is neither skipped by a reader tailing by id nor sent after a larger id', async () => {
    const older = await t.resource('bms_server');
    const newer = await t.resource('bms_server');
    const since = await newest();
    const s = await EventStreamClient.open(
      base,
      `/admin/v1/events/stream?project_id=${t.projectId}`,
      admin,
    );
    const other = await otherWriter(older);
    let first: string;
    try {
      await other.append();
      // Committed, with a larger transaction id than the other writer's, which is still open.
      first = await write(h, newer, 'env', 'one');
      // Newest first, the committed event is there at once.
      expect((await events(h, `project_id=${t.projectId}&order=desc&limit=1`))[0]?.request_id).toBe(
        first,
      );
      // A reader tailing by id does not take it yet: it would then go on past the other's id.
      expect(await events(h, `project_id=${t.projectId}&since=${since}`)).toEqual([]);
      await other.end('commit');
    } finally {
      await other.end('rollback');
    }
    const third = await write(h, newer, 'env', 'two');
    const received = await s.events(3);
    s.close();
    expect(received.map((m) => m.data.request_id)).toEqual([other.requestId, first, third]);
    const ids = received.map((m) => BigInt(m.id));
    expect(ids[0]! < ids[1]! && ids[1]! < ids[2]!).toBe(true);
    // A reader resuming from where it was gets the same, in the same order.
    const tail = await events(h, `project_id=${t.projectId}&since=${since}`);
    expect(tail.map((e) => e.request_id)).toEqual([other.requestId, first, third]);
  });

  it('an event rolled back is never read, and holds nothing back once rolled back', async () => {
    const id = await t.resource('bms_server');
    const since = await newest();
    const s = await EventStreamClient.open(
      base,
      `/admin/v1/events/stream?project_id=${t.projectId}`,
      admin,
    );
    const other = await otherWriter(id);
    let first: string;
    try {
      await other.append();
      first = await write(h, await t.resource('bms_server'), 'env', 'one');
      await other.end('rollback');
    } finally {
      await other.end('rollback');
    }
    const second = await write(h, id, 'env', 'two');
    const received = await s.events(2);
    s.close();
    expect(received.map((m) => m.data.request_id)).toEqual([first, second]);
    const tail = await events(h, `project_id=${t.projectId}&since=${since}`);
    expect(tail.map((e) => e.request_id)).toEqual([first, second]);
  });

  it('an event whose writer stopped before notifying the other nodes still reaches the feed', async () => {
    const id = await t.resource('bms_server');
    const s = await EventStreamClient.open(
      base,
      `/admin/v1/events/stream?project_id=${t.projectId}`,
      admin,
    );
    // Committed by a connection that sends no notification, as a process killed between its
    // commit and its notification would leave it.
    const other = await otherWriter(id);
    await other.append();
    await other.end('commit');
    const [m] = await s.events(1);
    s.close();
    expect(m?.data.request_id).toBe(other.requestId);
  });

  it('an event that would sort before a later-committed event of its resource is refused as a serialization failure (the write is retried)', async () => {
    const id = await t.resource('bms_server');
    const other = await otherWriter(id);
    try {
      // The later transaction changes the resource and commits first.
      await write(h, id, 'env', 'one');
      await expect(other.append()).rejects.toMatchObject({ code: '40001' });
    } finally {
      await other.end('rollback');
    }
    // The resource's history is the one change.
    const history = await events(h, `resource_id=${id}`);
    expect(history.map((e) => e.changes)).toEqual([[{ key: 'env', old: null, new: 'one' }]]);
  });
});

describe('a write that locks its resource before its transaction has an id (migration 0019)', () => {
  const N = 1048576n;

  it('gives its event the place the insert trigger never gives, n = 0 of its transaction', async () => {
    const id = await t.resource('bms_server');
    await write(h, id, 'env', 'one');
    const [e] = await events(h, `resource_id=${id}`);
    expect(BigInt(e!.id) % N).toBe(0n);
  });

  it('after waiting for the lock, its event follows the event of the transaction that held it', async () => {
    const id = await t.resource('bms_server');
    const holder = new pg.Client({ connectionString: h.databaseUrl });
    const watcher = new pg.Client({ connectionString: h.databaseUrl });
    await holder.connect();
    await watcher.connect();
    try {
      await holder.query('begin');
      await holder.query(
        `select 1 from resources where project_id = $1 and resource_type = 'bms_server'
           and resource_id = $2 for update`,
        [t.projectId, id],
      );
      await holder.query(
        `insert into events (time, domain_id, project_id, resource_type, resource_id, service,
           operation, principal_type, source_ip, request_id, changes)
         values ($1, $2, $3, 'bms_server', $4, 'admin', 'test', 'admin', '127.0.0.1', 'held',
           '[{"key":"held","old":null,"new":"1"}]')`,
        [new Date().toISOString(), t.domainId, t.projectId, id],
      );
      const waiting = write(h, id, 'env', 'after');
      // The write waits for the row lock, with no transaction id of its own yet. (Looked at
      // from outside the holder's transaction, which would see one snapshot of the activity.)
      const deadline = Date.now() + 10_000;
      for (;;) {
        const { rows } = await watcher.query(
          `select count(*)::int as n from pg_stat_activity
           where datname = current_database() and wait_event_type = 'Lock'
             and query ilike '%for update%'
             and backend_xid is null`,
        );
        if (rows[0].n > 0) break;
        if (Date.now() > deadline) throw new Error('the write never waited for the lock');
        await new Promise((r) => setTimeout(r, 20));
      }
      await holder.query('commit');
      const requestId = await waiting;
      const history = await events(h, `resource_id=${id}&order=asc`);
      expect(history.map((e) => e.request_id)).toEqual(['held', requestId]);
      expect(BigInt(history[1]!.id)).toBeGreaterThan(BigInt(history[0]!.id));
      expect(BigInt(history[0]!.id) % N, 'the held event took its id from the trigger').toBe(1n);
      expect(BigInt(history[1]!.id) % N).toBe(0n);
    } finally {
      await holder.end();
      await watcher.end();
    }
  });

  it('writes of one resource at once: its events, by id, follow one another, and the last is its tags', async () => {
    const id = await t.resource('bms_server');
    const values = Array.from({ length: 24 }, (_, i) => `v${i}`);
    await Promise.all(values.map((v) => write(h, id, 'env', v)));
    const history = await events(h, `resource_id=${id}&order=asc`);
    expect(history).toHaveLength(values.length);
    const changes = history.map((e) => e.changes[0]!);
    expect(changes[0]!.old).toBeNull();
    for (let i = 1; i < changes.length; i++) expect(changes[i]!.old).toBe(changes[i - 1]!.new);
    expect(new Set(changes.map((c) => c.new))).toEqual(new Set(values));
    expect(await new TagApi(h, t, BMS).list(id)).toEqual([
      { key: 'env', value: changes.at(-1)!.new },
    ]);
  });

  it('a lock taken once the transaction has an id is no first lock: its event goes through the trigger and its order check', async () => {
    const id = await t.resource('bms_server');
    await h.store.transaction(async (tx) => {
      await sql`select pg_current_xact_id()`.execute(tx);
      const found = await findResourceWithTags(tx, t.projectId, 'bms_server', id, true);
      expect(found?.lockedFirst).toBe(false);
    });
    await h.store.transaction(async (tx) => {
      const found = await findResourceWithTags(tx, t.projectId, 'bms_server', id, true);
      expect(found?.lockedFirst).toBe(true);
    });
  });
});

describe('a write of this node whose transaction began before another appended an event of its resource', () => {
  /** An event of `resourceId` setting `key` to `value`. */
  const event = (resourceId: string, value: string): NewChangeEvent => ({
    time: new Date().toISOString(),
    projectId: t.projectId,
    resourceType: 'bms_server',
    resourceId,
    origin: {
      service: 'admin',
      operation: 'test',
      principal: { type: 'admin' },
      sourceIp: '127.0.0.1',
      requestId: randomUUID(),
    },
    changes: [{ key: 'late', old: null, new: value }],
  });

  /**
   * Runs `append` in a transaction that takes its id at once and, the first time, waits until
   * another write of the resource has committed; answers how many times it ran.
   */
  async function lateWrite(id: string, append: (tx: Executor) => Promise<unknown>) {
    let attempts = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let began!: () => void;
    const hasId = new Promise<void>((r) => {
      began = r;
    });
    const late = h.store.transaction(async (tx) => {
      attempts++;
      await sql`select pg_current_xact_id()`.execute(tx);
      if (attempts === 1) {
        began();
        await gate;
      }
      await append(tx);
    });
    // The other write takes its transaction id only once this one has its own.
    await hasId;
    await write(h, id, 'env', 'one');
    release();
    await late;
    return attempts;
  }

  it('runs again, once, and its event follows that one (an append)', async () => {
    const id = await t.resource('bms_server');
    expect(await lateWrite(id, (tx) => appendEvents(tx, [event(id, 'late')]))).toBe(2);
    const history = await events(h, `resource_id=${id}`);
    expect(history.map((e) => e.changes[0]!.new)).toEqual(['one', 'late']);
    expect(BigInt(history[1]!.id)).toBeGreaterThan(BigInt(history[0]!.id));
  });

  it('runs again, once, and its event follows that one (a tag write with its event)', async () => {
    const id = await t.resource('bms_server');
    const { rid } = await h.store.db
      .selectFrom('resources')
      .select('rid')
      .where('project_id', '=', t.projectId)
      .where('resource_id', '=', id)
      .executeTakeFirstOrThrow();
    const resource = {
      rid: Number(rid),
      projectId: t.projectId,
      type: 'bms_server',
      resourceId: id,
      name: '',
      enterpriseProjectId: '0',
      createdAt: new Date().toISOString(),
    };
    const put = (tx: Executor) =>
      writeChange(
        tx,
        h.store.caps,
        resource,
        [],
        [{ key: 'late', value: 'late' }],
        event(id, 'late'),
      );
    expect(await lateWrite(id, put)).toBe(2);
    const history = await events(h, `resource_id=${id}`);
    expect(history.map((e) => e.changes[0]!.new)).toEqual(['one', 'late']);
    const tags = await h.store.db
      .selectFrom('tags')
      .select(['key', 'value'])
      .where('rid', '=', Number(rid))
      .orderBy('key')
      .execute();
    expect(tags).toEqual([
      { key: 'env', value: 'one' },
      { key: 'late', value: 'late' },
    ]);
  });
});

/** An export of `node`'s database, as lines. */
async function exportLines(node: Harness): Promise<string[]> {
  const lines: string[] = [];
  await exportDatabase(node.store, async (text) => {
    lines.push(...text.split('\n').filter((l) => l !== ''));
  });
  return lines;
}

async function* toLines(lines: readonly string[]): AsyncIterable<string> {
  for (const l of lines) yield l;
}

/** Far above what a test server's transaction ids give, and still an integer clients read exactly. */
const FAR = 2 ** 52;

describe('the other nodes are told of commits', () => {
  it('a steady stream of commits is told in about one notification per 20 ms, the first at once, and every event reaches another node', async () => {
    const id = await t.resource('bms_server');
    const listener = new pg.Client({ connectionString: h.databaseUrl });
    await listener.connect();
    const told: number[] = [];
    listener.on('notification', () => told.push(performance.now()));
    await listener.query('listen tagplane_events');
    // Another node: its own store and app on the same database, following the log.
    const other = await createHarness({ databaseUrl: h.databaseUrl, eventKeepAliveMs: 50 });
    try {
      const otherBase = await other.app.listen({ port: 0, host: '127.0.0.1' });
      const since = await newest();
      const s = await EventStreamClient.open(
        otherBase,
        `/admin/v1/events/stream?project_id=${t.projectId}&since=${since}`,
        admin,
      );
      const started = performance.now();
      await write(h, id, 'told', 'v0');
      await expect.poll(() => told.length, { timeout: 5_000 }).toBeGreaterThanOrEqual(1);
      // The first commit after a quiet spell is told at once, not at the end of a gap.
      expect(told[0]! - started).toBeLessThan(1_000);
      const requests = [];
      for (let i = 1; i < 40; i++) requests.push(await write(h, id, 'told', `v${i}`));
      const received = await s.events(40);
      s.close();
      expect(received.slice(1).map((m) => m.data.request_id)).toEqual(requests);
      // Counted rather than spaced: notifications leave at least 20 ms apart, but each reaches
      // this listener after a delay of its own. One per commit would be 40.
      const lasted = performance.now() - started;
      expect(told.length).toBeLessThanOrEqual(Math.floor(lasted / 20) + 2);
    } finally {
      await listener.end();
      await other.close();
    }
  });
});

describe('ids go on above those already present', () => {
  it.each([
    ['the current schema', undefined],
    ['a schema before 0013 (ids from the sequence)', '0012-project-names'],
  ])('after an import of an export made at %s', async (_, schema) => {
    const id = await t.resource('bms_server', [{ key: 'env', value: 'zero' }]);
    await write(h, id, 'env', 'one');
    const lines = await exportLines(h);
    const header = JSON.parse(lines[0]!) as { schema: string };
    if (schema !== undefined) header.schema = schema;
    // The events as another server made them: ids far above this one's.
    const moved = [
      JSON.stringify(header),
      ...lines.slice(1).map((l) => {
        const entry = JSON.parse(l) as { table: string; row: { id: number } };
        if (entry.table === 'events') entry.row.id += FAR;
        return JSON.stringify(entry);
      }),
    ];
    const database = await createPostgresDatabase();
    try {
      const store = Store.open(parseDatabaseUrl(database.url), { poolSize: 2 });
      try {
        await importDatabase(store, toLines(moved));
      } finally {
        await store.close();
      }
      const restored = await createHarness({ databaseUrl: database.url, keys: h.keys });
      try {
        const before = await events(restored, `resource_id=${id}`);
        expect(before.map((e) => e.changes.map((c) => c.new))).toEqual([['zero'], ['one']]);
        const requestId = await write(restored, id, 'env', 'two');
        const after = await events(restored, `resource_id=${id}`);
        expect(after.map((e) => e.request_id).at(-1)).toBe(requestId);
        const last = Number(after.at(-1)!.id);
        expect(last).toBeGreaterThan(Number(before.at(-1)!.id));
        expect(Number.isSafeInteger(last)).toBe(true);
        // The resource's traces, newest first, a page at a time: a marker carries ids that long.
        const seen: string[] = [];
        let next = '';
        for (;;) {
          const res = await restored.inject({
            method: 'GET',
            url: `/v3/${t.projectId}/traces?trace_type=system&resource_id=${id}&limit=1&next=${next}`,
            headers: { 'x-auth-token': t.root.token },
          });
          expect(res.statusCode, res.body).toBe(200);
          const page = json(res) as {
            traces: { request_id: string }[];
            meta_data: { marker: string | null };
          };
          seen.push(...page.traces.map((tr) => tr.request_id));
          if (page.meta_data.marker === null) break;
          next = page.meta_data.marker;
        }
        expect(seen).toEqual(after.map((e) => e.request_id).reverse());
      } finally {
        await restored.close();
      }
    } finally {
      await database.drop();
    }
  });

  it('after migrating a database whose ids came from the sequence of migration 0009', async () => {
    const database = await createPostgresDatabase();
    try {
      const store = Store.open(parseDatabaseUrl(database.url), { poolSize: 2 });
      try {
        await store.migrate('0012-project-names');
        // A sequence that has gone far, and two events drawn from it.
        await sql`select setval('events_id_seq', ${FAR})`.execute(store.db);
        for (const n of [1, 2]) {
          await sql`insert into events (time, domain_id, project_id, resource_type, resource_id,
              service, operation, principal_type, source_ip, request_id, changes)
            values (${new Date().toISOString()}, 'd', 'p', 'bms_server', 'r', 'admin', 'test',
              'admin', '127.0.0.1', ${`old-${n}`}, '[]')`.execute(store.db);
        }
        await store.migrate();
      } finally {
        await store.close();
      }
      const node = await createHarness({ databaseUrl: database.url });
      try {
        const tenant = await node.tenant();
        await tenant.resource('bms_server', [{ key: 'env', value: 'new' }]);
        const all = await events(node, 'order=asc');
        expect(all.map((e) => e.request_id).slice(0, 2)).toEqual(['old-1', 'old-2']);
        expect(all.map((e) => Number(e.id)).slice(0, 2)).toEqual([FAR + 1, FAR + 2]);
        expect(all).toHaveLength(3);
        expect(Number(all[2]!.id)).toBeGreaterThan(FAR + 2);
      } finally {
        await node.close();
      }
    } finally {
      await database.drop();
    }
  });
});
