import { afterAll, beforeAll, expect, it } from 'vitest';
import { ADMIN_TOKEN, createHarness, type Harness, type Tenant } from '../support/harness.js';

/**
 * SPEC §8: a seed appends one event per resource whose tags it sets, whatever its size — here
 * more resources than one statement's parameters could carry on PostgreSQL (65,535).
 */

let h: Harness;
let t: Tenant;

beforeAll(async () => {
  h = await createHarness();
  t = await h.tenant();
});
afterAll(() => h?.close());

it('a seed of 6,000 tagged resources applies whole, with 6,000 events', async () => {
  const size = 6_000;
  await h.seed({
    resources: Array.from({ length: size }, (_, i) => ({
      project_id: t.projectId,
      type: 'bms_server',
      id: `big-seed-${i}`,
      tags: [{ key: 'n', value: String(i) }],
    })),
  });
  let count = 0;
  let since: string | undefined;
  for (;;) {
    const res = await h.inject({
      method: 'GET',
      url: `/admin/v1/events?project_id=${t.projectId}&order=asc&limit=1000${since ? `&since=${since}` : ''}`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = JSON.parse(res.body) as { events: unknown[]; next_marker: string | null };
    count += body.events.length;
    if (body.next_marker === null) break;
    since = body.next_marker;
  }
  expect(count).toBe(size);
});
