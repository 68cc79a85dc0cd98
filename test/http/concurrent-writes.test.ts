import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, createHarness, type Harness, json, type Tenant } from '../support/harness.js';

/**
 * Writers racing inside one server. On PostgreSQL they run on several pooled connections at
 * once, so this is where conflicts between transactions show; on SQLite they take turns.
 */
describe('concurrent writes', () => {
  let h: Harness;
  let t: Tenant;

  beforeAll(async () => {
    h = await createHarness();
    t = await h.tenant();
  });
  afterAll(() => h.close());

  const seed = (doc: unknown) =>
    h.inject({
      method: 'POST',
      url: '/admin/v1/seed',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      payload: JSON.stringify(doc),
    });

  it('seeds racing to create one domain name under different ids: one wins, the others are told why', async () => {
    const name = `race-${randomBytes(4).toString('hex')}`;
    const ids = Array.from({ length: 6 }, (_, i) => `d-${name}-${i}`);
    const answers = await Promise.all(ids.map((id) => seed({ domains: [{ id, name }] })));
    const statuses = answers.map((a) => a.statusCode);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    const winner = ids[statuses.indexOf(200)]!;
    for (const a of answers.filter((x) => x.statusCode !== 200)) {
      expect(a.statusCode).toBe(400);
      expect(a.body).toContain(`the name '${name}' belongs to domain '${winner}'`);
    }
  });

  it('registrations racing to create one resource all succeed and leave one resource', async () => {
    const id = `race-${randomBytes(4).toString('hex')}`;
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        h.inject({
          method: 'PUT',
          url: `/admin/v1/projects/${t.projectId}/resources/bms_server/${id}`,
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
          payload: JSON.stringify({ name: `name-${i}` }),
        }),
      ),
    );
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200, 200, 200, 200]);
    const list = await h.inject({
      method: 'GET',
      url: `/admin/v1/projects/${t.projectId}/resources?type=bms_server`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const resources = (json(list) as { resources: { id: string }[] }).resources;
    expect(resources.filter((r) => r.id === id)).toHaveLength(1);
  });

  it('tag batches racing on one resource never pass its limit and apply whole or not at all', async () => {
    const id = await t.resource('mrs_cluster');
    // MRS allows 10 tags: 30 batches of 3 new keys; three batches fit, with one key to spare.
    const batches = Array.from({ length: 30 }, (_, i) =>
      ['a', 'b', 'c'].map((s) => ({ key: `b${i}${s}`, value: String(i) })),
    );
    const answers = await Promise.all(
      batches.map((tags) =>
        h.inject({
          method: 'POST',
          url: `/v1.1/${t.projectId}/clusters/${id}/tags/action`,
          headers: { 'x-auth-token': t.root.token, 'content-type': 'application/json' },
          payload: JSON.stringify({ action: 'create', tags }),
        }),
      ),
    );
    const statuses = answers.map((a) => a.statusCode);
    expect(statuses.filter((s) => s === 204)).toHaveLength(3);
    expect(statuses.filter((s) => s !== 204).every((s) => s === 400)).toBe(true);
    const list = await h.inject({
      method: 'GET',
      url: `/v1.1/${t.projectId}/clusters/${id}/tags`,
      headers: { 'x-auth-token': t.root.token },
    });
    const tags = new Map(
      (json(list) as { tags: { key: string; value: string }[] }).tags.map((x) => [x.key, x.value]),
    );
    expect(tags.size).toBe(9);
    batches.forEach((batch, i) => {
      const present = batch.filter((x) => tags.get(x.key) === x.value).length;
      expect(present, `batch ${i}`).toBe(statuses[i] === 204 ? 3 : 0);
    });
  });
});
