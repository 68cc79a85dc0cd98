import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, json, type Tenant } from '../support/harness.js';

/** The project tag listings of AS, MRS and DDM, and the single-tag companions of MRS and DDM. */

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

const get = (url: string, token: string) =>
  h.inject({ method: 'GET', url, headers: { 'x-auth-token': token } });

const tag = (key: string, value: string) => ({ key, value });

describe.each([
  {
    name: 'MRS',
    type: 'mrs_cluster' as const,
    url: (p: string) => `/v1.1/${p}/clusters/tags`,
    forbidden: { status: 401, body: { error_code: '12000136' } },
  },
  {
    name: 'AS',
    type: 'as_group' as const,
    url: (p: string) => `/autoscaling-api/v1/${p}/scaling_group_tag/tags`,
    forbidden: { status: 403, body: { error: { code: 'AS.0011' } } },
  },
])('$name project tags', (svc) => {
  let t: Tenant;
  beforeAll(async () => {
    t = await h.tenant();
  });

  it('lists each key once, keys and values ascending and de-duplicated', async () => {
    await t.resource(svc.type, [tag('team', 'web'), tag('env', 'prod')]);
    await t.resource(svc.type, [tag('env', 'dev'), tag('team', 'web')]);
    await t.resource(svc.type, [tag('env', 'prod'), tag('Zone', '')]);
    await t.resource(svc.type);
    // Other types and other projects are not listed.
    await t.resource(svc.type === 'as_group' ? 'mrs_cluster' : 'as_group', [tag('other', 'x')]);
    const stranger = await h.tenant();
    await stranger.resource(svc.type, [tag('env', 'elsewhere')]);

    const res = await get(svc.url(t.projectId), t.root.token);
    expect(res.statusCode).toBe(200);
    expect(json(res)).toEqual({
      tags: [
        { key: 'Zone', values: [''] },
        { key: 'env', values: ['dev', 'prod'] },
        { key: 'team', values: ['web'] },
      ],
    });
  });

  it('an empty project lists no tags', async () => {
    const empty = await h.tenant();
    const res = await get(svc.url(empty.projectId), empty.root.token);
    expect(json(res)).toEqual({ tags: [] });
  });

  it('an IAM user without a policy is refused in the service envelope', async () => {
    const res = await get(svc.url(t.projectId), t.iamUser.token);
    expect(res.statusCode).toBe(svc.forbidden.status);
    expect(json(res)).toMatchObject(svc.forbidden.body);
  });
});

describe('project tags sort by code point', () => {
  it('keys and values beyond the Basic Multilingual Plane sort after it', async () => {
    const t = await h.tenant();
    const keys = ['😀', 'ﬀ', 'é', 'a', 'Z', 'B'];
    await t.resource(
      'mrs_cluster',
      keys.map((k) => tag(k, 'v')),
    );
    for (const v of ['😀', 'ﬀ', 'b', 'B', '']) await t.resource('mrs_cluster', [tag('k', v)]);
    const res = await get(`/v1.1/${t.projectId}/clusters/tags`, t.root.token);
    const body = json(res) as { tags: { key: string; values: string[] }[] };
    expect(body.tags.map((x) => x.key)).toEqual(['B', 'Z', 'a', 'k', 'é', 'ﬀ', '😀']);
    expect(body.tags.find((x) => x.key === 'k')?.values).toEqual(['', 'B', 'b', 'ﬀ', '😀']);
  });
});

describe('DDM project tags', () => {
  let t: Tenant;
  const url = (q = '') => `/v3/${t.projectId}/instances/tags${q}`;
  beforeAll(async () => {
    t = await h.tenant();
    const keys = Array.from({ length: 12 }, (_, i) => `key${String(i).padStart(2, '0')}`);
    await t.resource(
      'ddm_instance',
      keys.map((k) => tag(k, 'a')),
    );
    await t.resource('ddm_instance', [tag('key00', 'b'), tag('key11', 'c')]);
  });

  it('pages keys with offset and limit (default 10) and counts them all', async () => {
    const first = json(await get(url(), t.root.token)) as Record<string, unknown>;
    expect(first).toMatchObject({ offset: 0, limit: 10, total_count: 12 });
    const firstTags = first.tags as { key: string; values: string[] }[];
    expect(firstTags.map((x) => x.key)).toEqual(
      Array.from({ length: 10 }, (_, i) => `key${String(i).padStart(2, '0')}`),
    );
    expect(firstTags[0]).toEqual({ key: 'key00', values: ['a', 'b'] });
    const second = json(await get(url('?offset=10&limit=10'), t.root.token));
    expect(second).toEqual({
      tags: [
        { key: 'key10', values: ['a'] },
        { key: 'key11', values: ['a', 'c'] },
      ],
      offset: 10,
      limit: 10,
      total_count: 12,
    });
    const past = json(await get(url('?offset=50&limit=128'), t.root.token));
    expect(past).toEqual({ tags: [], offset: 50, limit: 128, total_count: 12 });
  });

  it.each(['?limit=0', '?limit=129', '?limit=-1', '?limit=ten', '?offset=-1', '?offset=1.5'])(
    '%s → 400 DBS.280001',
    async (q) => {
      const res = await get(url(q), t.root.token);
      expect(res.statusCode).toBe(400);
      const body = json(res) as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual(['error_code', 'error_msg']);
      expect(body.error_code).toBe('DBS.280001');
    },
  );

  it('an IAM user without a policy is refused', async () => {
    const res = await get(url(), t.iamUser.token);
    expect(res.statusCode).toBe(403);
    expect(json(res)).toMatchObject({ error_code: 'DBS.200003' });
  });
});

describe('AS project tags check the resource type', () => {
  it('anything but scaling_group_tag → 400 AS.7048', async () => {
    const t = await h.tenant();
    const res = await get(`/autoscaling-api/v1/${t.projectId}/scaling_group/tags`, t.root.token);
    expect(res.statusCode).toBe(400);
    expect(json(res)).toMatchObject({ error: { code: 'AS.7048' } });
    const q = await h.inject({
      method: 'POST',
      url: `/autoscaling-api/v1/${t.projectId}/instance_tag/resource_instances/action`,
      headers: { 'x-auth-token': t.root.token, 'content-type': 'application/json' },
      payload: '{"action":"count"}',
    });
    expect(q.statusCode).toBe(400);
    expect(json(q)).toMatchObject({ error: { code: 'AS.7048' } });
  });
});

describe('MRS single-tag add and delete', () => {
  let t: Tenant;
  beforeAll(async () => {
    t = await h.tenant();
  });
  const send = (method: 'POST' | 'DELETE', url: string, payload?: unknown) =>
    h.inject({
      method,
      url,
      headers: { 'x-auth-token': t.root.token, 'content-type': 'application/json' },
      ...(payload !== undefined ? { payload: JSON.stringify(payload) } : {}),
    });
  const tagsOf = async (id: string) =>
    (json(await get(`/v1.1/${t.projectId}/clusters/${id}/tags`, t.root.token)) as { tags: unknown })
      .tags;

  it('adds a tag (204), overwriting an existing key', async () => {
    const id = await t.resource('mrs_cluster', [tag('DEV', 'old')]);
    const base = `/v1.1/${t.projectId}/clusters/${id}/tags`;
    const res = await send('POST', base, { tag: { key: 'DEV', value: 'DEV1' } });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(await tagsOf(id)).toEqual([tag('DEV', 'DEV1')]);
  });

  it.each([
    ['no tag', {}, '12000002'],
    ['a null value', { tag: { key: 'k', value: null } }, '12000002'],
    ['a forbidden character', { tag: { key: 'a=b', value: 'v' } }, '12005002'],
    ['a value with a leading space', { tag: { key: 'k', value: ' v' } }, '12005002'],
  ])('refuses %s', async (_what, body, code) => {
    const id = await t.resource('mrs_cluster');
    const res = await send('POST', `/v1.1/${t.projectId}/clusters/${id}/tags`, body);
    expect(res.statusCode).toBe(400);
    expect(json(res)).toMatchObject({ error_code: code });
    expect(await tagsOf(id)).toEqual([]);
  });

  it('refuses an 11th tag (12005001) and an unknown cluster (400 12000003)', async () => {
    const id = await t.resource(
      'mrs_cluster',
      Array.from({ length: 10 }, (_, i) => tag(`k${i}`, 'v')),
    );
    const res = await send('POST', `/v1.1/${t.projectId}/clusters/${id}/tags`, {
      tag: { key: 'k10', value: 'v' },
    });
    expect(res.statusCode).toBe(400);
    expect(json(res)).toMatchObject({ error_code: '12005001' });
    const missing = await send('POST', `/v1.1/${t.projectId}/clusters/nope/tags`, {
      tag: { key: 'k', value: 'v' },
    });
    expect(missing.statusCode).toBe(400);
    expect(json(missing)).toMatchObject({ error_code: '12000003' });
  });

  it('deletes a tag by key (204); a key the cluster lacks → 404 12005003', async () => {
    const id = await t.resource('mrs_cluster', [tag('DEV', 'x'), tag('你好 x', 'y')]);
    const base = `/v1.1/${t.projectId}/clusters/${id}/tags`;
    expect((await send('DELETE', `${base}/DEV`)).statusCode).toBe(204);
    expect((await send('DELETE', `${base}/${encodeURIComponent('你好 x')}`)).statusCode).toBe(204);
    expect(await tagsOf(id)).toEqual([]);
    const again = await send('DELETE', `${base}/DEV`);
    expect(again.statusCode).toBe(404);
    expect(json(again)).toMatchObject({ error_code: '12005003' });
  });
});

describe('DDM single-tag set', () => {
  let t: Tenant;
  beforeAll(async () => {
    t = await h.tenant();
  });
  const put = (id: string, key: string, payload: string, contentType = 'application/json') =>
    h.inject({
      method: 'PUT',
      url: `/v3/${t.projectId}/instances/${id}/tags/${encodeURIComponent(key)}`,
      headers: { 'x-auth-token': t.root.token, 'content-type': contentType },
      payload,
    });
  const tagsOf = async (id: string) =>
    (json(await get(`/v3/${t.projectId}/instances/${id}/tags`, t.root.token)) as { tags: unknown })
      .tags;

  it('sets a value (200, empty body), overwrites it, and takes an absent value as ""', async () => {
    const id = await t.resource('ddm_instance');
    const res = await put(id, 'a=b', '{"value":"v1"}');
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('');
    expect((await put(id, 'a=b', '{"value":"v2/x"}')).statusCode).toBe(200);
    expect((await put(id, 'other', '{}', 'Application/JSON; charset=UTF-8')).statusCode).toBe(200);
    expect(await tagsOf(id)).toEqual([tag('a=b', 'v2/x'), tag('other', '')]);
  });

  it.each([
    ['a null value', 'k', '{"value":null}'],
    ['a forbidden key character', 'a*b', '{"value":"v"}'],
    ['a _sys_ key', '_sys_k', '{"value":"v"}'],
    ['a value of 44 characters', 'k', JSON.stringify({ value: 'v'.repeat(44) })],
  ])('refuses %s with DBS.280001', async (_what, key, body) => {
    const id = await t.resource('ddm_instance');
    const res = await put(id, key, body);
    expect(res.statusCode).toBe(400);
    expect(json(res)).toEqual({ error_code: 'DBS.280001', error_msg: expect.any(String) });
    expect(await tagsOf(id)).toEqual([]);
  });

  it('refuses a 21st tag, a wrong Content-Type (415) and an unknown instance (400)', async () => {
    const id = await t.resource(
      'ddm_instance',
      Array.from({ length: 20 }, (_, i) => tag(`k${i}`, 'v')),
    );
    const full = await put(id, 'k20', '{"value":"v"}');
    expect(full.statusCode).toBe(400);
    expect(json(full)).toMatchObject({ error_code: 'DBS.280001' });
    expect((await put(id, 'k0', '{"value":"new"}')).statusCode).toBe(200);
    const media = await put(id, 'k1', '{"value":"v"}', 'text/plain');
    expect(media.statusCode).toBe(415);
    expect(json(media)).toMatchObject({ error_code: 'DBS.280415' });
    const missing = await put('nope', 'k', '{"value":"v"}');
    expect(missing.statusCode).toBe(400);
    expect(json(missing)).toMatchObject({ error_code: 'DBS.200002' });
  });
});
