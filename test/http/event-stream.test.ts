import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventStreamClient } from '../support/event-stream.js';
import { ADMIN_TOKEN, createHarness, type Harness, json, type Tenant } from '../support/harness.js';
import { BMS } from '../support/service-spec.js';
import { TagApi } from '../support/tag-api.js';

/**
 * SPEC §8 live feed: GET /admin/v1/events/stream on a listening server, fed by whichever node
 * made the change (here nodes are apps with store connections of their own on one database).
 */

let a: Harness;
let b: Harness;
let c: Harness;
let base: string;
let t: Tenant;

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

beforeAll(async () => {
  a = await createHarness({ eventKeepAliveMs: 50 });
  b = await createHarness({ databaseUrl: a.databaseUrl, keys: a.keys });
  c = await createHarness({ databaseUrl: a.databaseUrl, keys: a.keys });
  base = await a.app.listen({ port: 0, host: '127.0.0.1' });
  t = await a.tenant();
});
afterAll(async () => {
  await c?.close();
  await b?.close();
  await a?.close();
});

/** Sets `env=<value>` on a BMS server through node `h`; resolves with the request id once acked. */
async function write(h: Harness, id: string, value: string): Promise<string> {
  const requestId = randomUUID();
  const res = await new TagApi(h, t, BMS).create(id, [{ key: 'env', value }], {
    'x-request-id': requestId,
  });
  expect(res.statusCode, res.body).toBe(204);
  return requestId;
}

const stream = (query: string, headers: Record<string, string> = {}) =>
  EventStreamClient.open(base, `/admin/v1/events/stream?${query}`, { ...admin, ...headers });

describe('live feed', () => {
  it('sends each new event as id / event: tag-change / data, and keep-alive comments', async () => {
    const id = await t.resource('bms_server');
    const s = await stream(`project_id=${t.projectId}&resource_id=${id}`);
    try {
      expect(s.status).toBe(200);
      expect(s.headers['content-type']).toMatch(/^text\/event-stream/);
      const requestId = await write(a, id, 'one');
      const [m] = await s.events(1);
      expect(m!.event).toBe('tag-change');
      expect(m!.data).toMatchObject({
        id: m!.id,
        project_id: t.projectId,
        resource_id: id,
        request_id: requestId,
        changes: [{ key: 'env', old: null, new: 'one' }],
      });
      const listed = await a.inject({
        method: 'GET',
        url: `/admin/v1/events?resource_id=${id}`,
        headers: admin,
      });
      expect((json(listed) as { events: unknown[] }).events).toEqual([m!.data]);
      await s.until(() => s.comments.includes('keep-alive'));
      expect(s.comments).toContain('keep-alive');
    } finally {
      s.close();
    }
  });

  it('resumes after Last-Event-ID or since: every event written meanwhile, none twice', async () => {
    const id = await t.resource('bms_server');
    const first = await stream(`resource_id=${id}`);
    await write(a, id, 'v1');
    await write(b, id, 'v2');
    const seen = await first.events(2);
    first.close();
    const acked = [await write(c, id, 'v3'), await write(a, id, 'v4'), await write(b, id, 'v5')];

    const again = await stream(`resource_id=${id}`, { 'last-event-id': seen[1]!.id });
    const bySince = await stream(`resource_id=${id}&since=${seen[1]!.id}`);
    try {
      for (const s of [again, bySince]) {
        const got = await s.events(3);
        expect(got.map((e) => e.data.request_id)).toEqual(acked);
      }
      const more = await write(c, id, 'v6');
      for (const s of [again, bySince]) {
        const got = await s.events(4);
        expect(got.map((e) => e.data.request_id)).toEqual([...acked, more]);
        const ids = got.map((e) => BigInt(e.id));
        expect(ids.every((x, i) => i === 0 || x > ids[i - 1]!)).toBe(true);
        expect(ids[0]).toBeGreaterThan(BigInt(seen[1]!.id));
      }
    } finally {
      again.close();
      bySince.close();
    }
  });

  it('three nodes writing at once: every acknowledged write’s event exactly once, in id order', async () => {
    const ids = [
      await t.resource('bms_server'),
      await t.resource('bms_server'),
      await t.resource('bms_server'),
    ];
    const s = await stream(`project_id=${t.projectId}&key=env`);
    try {
      const nodes = [a, b, c];
      const acked = (
        await Promise.all(
          nodes.map(async (h, n) => {
            const mine: string[] = [];
            for (let i = 0; i < 8; i++) mine.push(await write(h, ids[n]!, `n${n}-${i}`));
            return mine;
          }),
        )
      ).flat();
      const got = await s.events(acked.length);
      expect(got.map((e) => e.data.request_id).sort()).toEqual([...acked].sort());
      const order = got.map((e) => BigInt(e.id));
      expect(order.every((x, i) => i === 0 || x > order[i - 1]!)).toBe(true);
      // Each node's own writes arrive in the order they were acknowledged.
      for (let n = 0; n < 3; n++) {
        expect(
          got.filter((e) => e.data.resource_id === ids[n]).map((e) => e.data.changes[0]!.new),
        ).toEqual(Array.from({ length: 8 }, (_, i) => `n${n}-${i}`));
      }
    } finally {
      s.close();
    }
  });

  it('a bad filter or Last-Event-ID → 400 before streaming; no token → 401', async () => {
    const bad = await a.inject({
      method: 'GET',
      url: '/admin/v1/events/stream?since=x',
      headers: admin,
    });
    expect(bad.statusCode).toBe(400);
    const badId = await a.inject({
      method: 'GET',
      url: '/admin/v1/events/stream',
      headers: { ...admin, 'last-event-id': 'abc' },
    });
    expect(badId.statusCode).toBe(400);
    const anonymous = await a.inject({ method: 'GET', url: '/admin/v1/events/stream' });
    expect(anonymous.statusCode).toBe(401);
  });
});
