import { afterAll, beforeAll, expect, it } from 'vitest';
import { EventFeed } from '../../src/admin/event-feed.js';
import type { ChangeEvent } from '../../src/core/change-event.js';
import { ADMIN_TOKEN, createHarness, type Harness, type Tenant } from '../support/harness.js';

/**
 * The feed keeps its fan-out to a small share of the event loop: after a fan-out that took long
 * (here a subscriber whose socket write takes 20 ms, as 1,000 subscribers together would), it
 * rests before reading the log again, and the events committed meanwhile go out together, in
 * order, none lost — rather than one costly fan-out per commit.
 */

let h: Harness;
let t: Tenant;

beforeAll(async () => {
  h = await createHarness();
  t = await h.tenant();
});
afterAll(() => h?.close());

it('events committed while the feed rests after a costly fan-out arrive together, all and in order', async () => {
  const feed = new EventFeed(h.store, (e: ChangeEvent) => `${e.id}\n`);
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
    const write = async (value: string) => {
      const res = await h.inject({
        method: 'POST',
        url: `/v1/${t.projectId}/baremetalservers/${id}/tags/action`,
        headers: { 'x-auth-token': t.root.token, 'content-type': 'application/json' },
        payload: JSON.stringify({ action: 'create', tags: [{ key: 'k', value }] }),
      });
      expect(res.statusCode, res.body).toBe(204);
    };
    for (let i = 0; i < 5; i++) await write(`v${i}`);
    const ids = async () => {
      const res = await h.inject({
        method: 'GET',
        url: `/admin/v1/events?project_id=${t.projectId}&order=asc`,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      return (JSON.parse(res.body) as { events: { id: string }[] }).events.map((e) => e.id);
    };
    const logged = await ids();
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
