import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportDatabase, importDatabase } from '../../src/admin/backup.js';
import { pruneEventLog } from '../../src/admin/event-retention.js';
import { ADMIN_TOKEN, createHarness, type Harness, json, type Tenant } from '../support/harness.js';
import { openTestStore } from '../support/test-store.js';

/** SPEC §8 retention and backup: old events are pruned; export and import carry the log. */

interface Event {
  id: string;
  time: string;
  resource_id: string;
  changes: unknown[];
}

let h: Harness;
let t: Tenant;
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const DAY = 86_400_000;

beforeAll(async () => {
  h = await createHarness();
  t = await h.tenant();
});
afterAll(() => h.close());

async function eventsOf(of: Harness, query: string): Promise<Event[]> {
  const res = await of.inject({ method: 'GET', url: `/admin/v1/events?${query}`, headers: admin });
  expect(res.statusCode, res.body).toBe(200);
  return (json(res) as { events: Event[] }).events;
}

async function setEnv(id: string, value: string): Promise<void> {
  const res = await h.inject({
    method: 'POST',
    url: `/v1/${t.projectId}/baremetalservers/${id}/tags/action`,
    headers: { 'x-auth-token': t.root.token, 'content-type': 'application/json' },
    payload: JSON.stringify({ action: 'create', tags: [{ key: 'env', value }] }),
  });
  expect(res.statusCode).toBe(204);
}

const asOf = (id: string, at: string) =>
  h.inject({
    method: 'GET',
    url: `/admin/v1/projects/${t.projectId}/resources/bms_server/${id}/tags?as_of=${encodeURIComponent(at)}`,
    headers: admin,
  });

describe('retention', () => {
  it('prunes only events older than the period; as_of before what is kept → 400', async () => {
    const id = await t.resource('bms_server');
    await setEnv(id, 'old-1');
    await setEnv(id, 'old-2');
    const old = await eventsOf(h, `resource_id=${id}`);
    // Every event so far is older than this moment; those after it are newer.
    await new Promise((r) => setTimeout(r, 5));
    const boundary = Date.now();
    await new Promise((r) => setTimeout(r, 5));
    await setEnv(id, 'new-1');
    await setEnv(id, 'new-2');

    // With 1 day kept, "now" one day after the boundary: exactly the older events go.
    expect(await pruneEventLog(h.store, 0, boundary + DAY)).toBe(0);
    const removed = await pruneEventLog(h.store, 1, boundary + DAY);
    expect(removed).toBeGreaterThanOrEqual(old.length);
    const kept = await eventsOf(h, `resource_id=${id}`);
    expect(kept.map((e) => e.changes)).toEqual([
      [{ key: 'env', old: 'old-2', new: 'new-1' }],
      [{ key: 'env', old: 'new-1', new: 'new-2' }],
    ]);
    expect(await pruneEventLog(h.store, 1, boundary + DAY)).toBe(0);

    // The newest pruned event is the oldest moment still known (its own id is no longer kept).
    const edge = await asOf(id, old[1]!.id);
    expect(json(edge)).toEqual({ tags: [{ key: 'env', value: 'old-2' }], as_of_event: null });
    const before = await asOf(id, new Date(Date.parse(old[1]!.time) - 1).toISOString());
    expect(before.statusCode).toBe(400);
    expect(json(before)).toMatchObject({ error_code: 'ADMIN.0400' });
    expect((await asOf(id, old[0]!.id)).statusCode).toBe(400);
    const after = await asOf(id, kept[0]!.id);
    expect(after.statusCode, after.body).toBe(200);
    expect(json(after)).toEqual({
      tags: [{ key: 'env', value: 'new-1' }],
      as_of_event: kept[0]!.id,
    });
  });
});

describe('export and import', () => {
  it('carry the log: the same events, ids and as-of answers; new ids go on after them', async () => {
    const id = await t.resource('bms_server', [{ key: 'a', value: '1' }]);
    await setEnv(id, 'x');
    const lines: string[] = [];
    await exportDatabase(h.store, async (text) => {
      lines.push(...text.split('\n').filter((l) => l !== ''));
    });
    expect(lines.some((l) => JSON.parse(l).table === 'events')).toBe(true);
    const original = await eventsOf(h, `project_id=${t.projectId}&limit=1000`);

    const target = await openTestStore();
    try {
      await importDatabase(target.store, toLines(lines));
      const restored = await createHarness({ databaseUrl: target.database.url, keys: h.keys });
      try {
        expect(await eventsOf(restored, `project_id=${t.projectId}&limit=1000`)).toEqual(original);
        const res = await restored.inject({
          method: 'POST',
          url: `/v1/${t.projectId}/baremetalservers/${id}/tags/action`,
          headers: { 'x-auth-token': t.root.token, 'content-type': 'application/json' },
          payload: JSON.stringify({ action: 'create', tags: [{ key: 'env', value: 'y' }] }),
        });
        expect(res.statusCode).toBe(204);
        const after = await eventsOf(restored, `resource_id=${id}`);
        expect(BigInt(after.at(-1)!.id)).toBeGreaterThan(BigInt(original.at(-1)!.id));
      } finally {
        await restored.close();
      }
    } finally {
      await target.close();
    }
  });
});

async function* toLines(lines: readonly string[]): AsyncIterable<string> {
  for (const l of lines) yield l;
}
