import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResourceType } from '../../src/services/registry.js';
import { ADMIN_TOKEN, createHarness, type Harness, json, type Tenant } from '../support/harness.js';

/** The cross-service API (`/v1.0`): batches with per-resource outcomes, filter, keys, values. */

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

const tag = (key: string, value: string) => ({ key, value });

const post = (url: string, body: unknown, token: string) =>
  h.inject({
    method: 'POST',
    url,
    headers: { 'x-auth-token': token, 'content-type': 'application/json' },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });

const get = (url: string, token: string) =>
  h.inject({ method: 'GET', url, headers: { 'x-auth-token': token } });

/** The error body of a TMS answer: exactly error_code and error_msg. */
function tmsError(res: { statusCode: number; body: string }, status: number): string {
  expect(res.statusCode, res.body).toBe(status);
  const b = json(res as never) as Record<string, unknown>;
  expect(Object.keys(b).sort()).toEqual(['error_code', 'error_msg']);
  return b.error_code as string;
}

async function tagsOf(t: Tenant, type: ResourceType, id: string) {
  const res = await h.inject({
    method: 'GET',
    url: `/admin/v1/projects/${t.projectId}/resources?type=${type}`,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  const list = (json(res) as { resources: { id: string; tags: unknown }[] }).resources;
  return list.find((r) => r.id === id)?.tags;
}

describe('batch-create', () => {
  let t: Tenant;
  beforeAll(async () => {
    t = await h.tenant();
  });
  const create = (body: unknown, token = t.root.token) =>
    post('/v1.0/resource-tags/batch-create', body, token);

  it("checks each resource with its own service's rules and reports that service's code", async () => {
    const ids = {
      bms_server: await t.resource('bms_server', [tag('keep', '1')]),
      as_group: await t.resource('as_group', [tag('keep', '1')]),
      mrs_cluster: await t.resource('mrs_cluster', [tag('keep', '1')]),
      ddm_instance: await t.resource('ddm_instance', [tag('keep', '1')]),
      modelarts_hyperinstance: await t.resource('modelarts_hyperinstance', [tag('keep', '1')]),
    };
    // '=' in a key: BMS, MRS and AS refuse it, DDM and ModelArts accept it.
    const res = await create({
      project_id: t.projectId,
      resources: Object.entries(ids).map(([resource_type, resource_id]) => ({
        resource_id,
        resource_type,
      })),
      tags: [tag('cost=center', '42')],
    });
    expect(res.statusCode).toBe(200);
    const failed = (json(res) as { failed_resources: Record<string, string>[] }).failed_resources;
    expect(failed.map(({ error_msg: _m, ...rest }) => rest)).toEqual([
      { resource_id: ids.bms_server, resource_type: 'bms_server', error_code: 'BMS.0022' },
      { resource_id: ids.as_group, resource_type: 'as_group', error_code: 'AS.7046' },
      { resource_id: ids.mrs_cluster, resource_type: 'mrs_cluster', error_code: '12005002' },
    ]);
    for (const f of failed) expect(f.error_msg).toMatch(/cost=center/);
    // The failed ones are unchanged, the others applied.
    for (const type of ['bms_server', 'as_group', 'mrs_cluster'] as const) {
      expect(await tagsOf(t, type, ids[type])).toEqual([tag('keep', '1')]);
    }
    for (const type of ['ddm_instance', 'modelarts_hyperinstance'] as const) {
      expect(await tagsOf(t, type, ids[type])).toEqual([
        tag('cost=center', '42'),
        tag('keep', '1'),
      ]);
    }
  });

  it('applies each service limit: a full BMS fails, a scaling group in the same call succeeds', async () => {
    const bms = await t.resource(
      'bms_server',
      Array.from({ length: 20 }, (_, i) => tag(`k${i}`, 'v')),
    );
    const group = await t.resource('as_group');
    const fullGroup = await t.resource(
      'as_group',
      Array.from({ length: 9 }, (_, i) => tag(`k${i}`, 'v')),
    );
    const res = await create({
      project_id: t.projectId,
      resources: [
        { resource_id: bms, resource_type: 'bms_server' },
        { resource_id: group, resource_type: 'as_group' },
        { resource_id: fullGroup, resource_type: 'as_group' },
      ],
      tags: [tag('owner', 'alice'), tag('env', 'prod')],
    });
    const failed = (json(res) as { failed_resources: Record<string, string>[] }).failed_resources;
    expect(failed.map((f) => [f.resource_id, f.error_code])).toEqual([
      [bms, 'BMS.0022'],
      [fullGroup, 'AS.7045'],
    ]);
    expect(await tagsOf(t, 'as_group', group)).toEqual([tag('env', 'prod'), tag('owner', 'alice')]);
    // All or nothing per resource: neither tag reached the full group.
    expect(await tagsOf(t, 'as_group', fullGroup)).toHaveLength(9);
    expect(await tagsOf(t, 'bms_server', bms)).toHaveLength(20);
  });

  it("reports an unknown resource with its service's not-found code", async () => {
    const res = await create({
      project_id: t.projectId,
      resources: [
        'bms_server',
        'as_group',
        'mrs_cluster',
        'ddm_instance',
        'modelarts_hyperinstance',
      ].map((resource_type) => ({ resource_id: 'no-such-resource', resource_type })),
      tags: [tag('env', 'prod')],
    });
    const failed = (json(res) as { failed_resources: Record<string, string>[] }).failed_resources;
    expect(failed.map((f) => f.error_code)).toEqual([
      'BMS.0040',
      'AS.2007',
      '12000003',
      'DBS.200002',
      'ModelArts.6404',
    ]);
    // With the message its service answers.
    expect(failed[4]!.error_msg).toBe("LiteServer instance 'no-such-resource' not found.");
    expect(failed[0]!.error_msg).toContain(
      `Register it first, with the admin API (PUT /admin/v1/projects/${t.projectId}/resources/bms_server/`,
    );
  });

  it('a supernode refuses a key it already has; the others overwrite', async () => {
    const node = await t.resource('modelarts_hyperinstance', [tag('env', 'dev')]);
    const ddm = await t.resource('ddm_instance', [tag('env', 'dev')]);
    const res = await create({
      project_id: t.projectId,
      resources: [
        { resource_id: node, resource_type: 'modelarts_hyperinstance' },
        { resource_id: ddm, resource_type: 'ddm_instance' },
      ],
      tags: [tag('env', 'prod')],
    });
    const failed = (json(res) as { failed_resources: Record<string, string>[] }).failed_resources;
    expect(failed.map((f) => [f.resource_id, f.error_code])).toEqual([[node, 'ModelArts.0101']]);
    expect(failed[0]!.error_msg).toMatch(/^Invalid Argument: .*'env' already exists/);
    expect(await tagsOf(t, 'ddm_instance', ddm)).toEqual([tag('env', 'prod')]);
    expect(await tagsOf(t, 'modelarts_hyperinstance', node)).toEqual([tag('env', 'dev')]);
  });

  it('accepts a domain-scoped token and answers an empty list when all succeed', async () => {
    const id = await t.resource('mrs_cluster');
    const res = await create(
      {
        project_id: t.projectId,
        resources: [{ resource_id: id, resource_type: 'mrs_cluster' }],
        tags: [tag('env', 'prod')],
      },
      t.root.domainToken,
    );
    expect(res.statusCode).toBe(200);
    expect(json(res)).toEqual({ failed_resources: [] });
  });

  const valid = () => ({
    project_id: t.projectId,
    resources: [{ resource_id: 'x', resource_type: 'bms_server' }],
    tags: [tag('env', 'prod')],
  });
  it.each([
    ['a body that is not JSON', () => '{"project_id":', 'TMS.0002'],
    ['no project_id', () => ({ ...valid(), project_id: undefined }), 'TMS.0002'],
    ['no resources', () => ({ ...valid(), resources: [] }), 'TMS.0002'],
    [
      '51 resources',
      () => ({
        ...valid(),
        resources: Array.from({ length: 51 }, (_, i) => ({
          resource_id: `r${i}`,
          resource_type: 'bms_server',
        })),
      }),
      'TMS.0002',
    ],
    [
      'a resource twice',
      () => ({ ...valid(), resources: [valid().resources[0], valid().resources[0]] }),
      'TMS.0002',
    ],
    ['no tags', () => ({ ...valid(), tags: undefined }), 'TMS.0002'],
    ['an empty tag list', () => ({ ...valid(), tags: [] }), 'TMS.0002'],
    [
      'a resource id with a slash',
      () => ({ ...valid(), resources: [{ resource_id: 'a/b', resource_type: 'bms_server' }] }),
      'TMS.0002',
    ],
    [
      'a resource id with U+0000',
      () => ({ ...valid(), resources: [{ resource_id: 'a\u0000', resource_type: 'bms_server' }] }),
      'TMS.0002',
    ],
    [
      'an unknown resource type',
      () => ({ ...valid(), resources: [{ resource_id: 'x', resource_type: 'ecs_server' }] }),
      'TMS.5027',
    ],
  ])('refuses %s with 400 and changes nothing', async (_what, body, code) => {
    expect(tmsError(await create(body()), 400)).toBe(code);
  });

  it('refuses callers outside the project, and IAM users without a policy', async () => {
    const stranger = await h.tenant();
    expect(tmsError(await create(valid(), stranger.root.token), 403)).toBe('TMS.2030');
    expect(tmsError(await create(valid(), stranger.root.domainToken), 403)).toBe('TMS.2030');
    expect(tmsError(await create(valid(), t.iamUser.token), 403)).toBe('TMS.2030');
    const anonymous = await h.inject({
      method: 'POST',
      url: '/v1.0/resource-tags/batch-create',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(valid()),
    });
    expect(anonymous.statusCode).toBe(401);
  });
});

describe('batch-delete', () => {
  it('removes from each resource under its own rules; a supernode refuses an absent tag', async () => {
    const t = await h.tenant();
    const node = await t.resource('modelarts_hyperinstance', [tag('other', 'x')]);
    const bms = await t.resource('bms_server', [tag('env', 'prod'), tag('other', 'x')]);
    const group = await t.resource('as_group', [tag('env', 'dev')]);
    const res = await post(
      '/v1.0/resource-tags/batch-delete',
      {
        project_id: t.projectId,
        resources: [
          { resource_id: node, resource_type: 'modelarts_hyperinstance' },
          { resource_id: bms, resource_type: 'bms_server' },
          { resource_id: group, resource_type: 'as_group' },
        ],
        tags: [{ key: 'env' }],
      },
      t.root.token,
    );
    expect(res.statusCode).toBe(200);
    const failed = (json(res) as { failed_resources: Record<string, string>[] }).failed_resources;
    expect(failed.map((f) => [f.resource_id, f.error_code])).toEqual([[node, 'ModelArts.0101']]);
    expect(await tagsOf(t, 'bms_server', bms)).toEqual([tag('other', 'x')]);
    expect(await tagsOf(t, 'as_group', group)).toEqual([]);
    expect(await tagsOf(t, 'modelarts_hyperinstance', node)).toEqual([tag('other', 'x')]);
  });
});

describe('resource-instances/filter', () => {
  let t: Tenant;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    t = await h.tenant();
    // Registration order: b1, a1, m1, d1, h1, b2 (newest).
    for (const [name, type, tags] of [
      ['b1', 'bms_server', [tag('env', 'prod'), tag('team', 'web')]],
      ['a1', 'as_group', [tag('env', 'prod')]],
      ['m1', 'mrs_cluster', [tag('env', 'dev')]],
      ['d1', 'ddm_instance', []],
      ['h1', 'modelarts_hyperinstance', [tag('env', 'prod'), tag('team', 'db')]],
      ['b2', 'bms_server', [tag('env', 'prod')]],
    ] as const) {
      ids[name] = await t.resource(type, [...tags], name);
    }
  });
  const filter = (body: Record<string, unknown>, token = t.root.token) =>
    post('/v1.0/resource-instances/filter', { project_id: t.projectId, ...body }, token);
  const names = async (body: Record<string, unknown>) => {
    const res = await filter(body);
    expect(res.statusCode, res.body).toBe(200);
    const b = json(res) as { resources: { resource_id: string }[]; total_count: number };
    return { ids: b.resources.map((r) => r.resource_id), total: b.total_count };
  };

  it('finds resources of every type, newest first, in the documented shape', async () => {
    const res = await filter({ tags: [{ key: 'team', values: [] }] });
    expect(json(res)).toEqual({
      resources: [
        {
          project_id: t.projectId,
          resource_id: 'h1',
          resource_name: 'res-h1',
          resource_type: 'modelarts_hyperinstance',
          tags: [tag('env', 'prod'), tag('team', 'db')],
        },
        {
          project_id: t.projectId,
          resource_id: 'b1',
          resource_name: 'res-b1',
          resource_type: 'bms_server',
          tags: [tag('env', 'prod'), tag('team', 'web')],
        },
      ],
      total_count: 2,
    });
    expect(await names({ tags: [{ key: 'env', values: ['prod'] }] })).toEqual({
      ids: ['b2', 'h1', 'a1', 'b1'],
      total: 4,
    });
  });

  it('restricts to the listed types; without_any_tag finds the untagged', async () => {
    expect(
      await names({
        resource_types: ['bms_server', 'as_group'],
        tags: [{ key: 'env', values: ['prod'] }],
      }),
    ).toEqual({ ids: ['b2', 'a1', 'b1'], total: 3 });
    expect(await names({ without_any_tag: true })).toEqual({ ids: ['d1'], total: 1 });
    expect(
      await names({
        tags: [
          { key: 'env', values: ['prod'] },
          { key: 'env2', values: [] },
        ],
      }),
    ).toEqual({
      ids: [],
      total: 0,
    });
  });

  it('pages across types: every resource exactly once', async () => {
    const seen: string[] = [];
    for (let offset = 0; offset < 6; offset += 4) {
      const page = await names({ offset, limit: 4 });
      expect(page.total).toBe(6);
      seen.push(...page.ids);
    }
    expect(seen).toEqual(['b2', 'h1', 'd1', 'm1', 'a1', 'b1']);
  });

  it.each([
    ['limit 0', { limit: 0 }, 'TMS.0002'],
    ['limit 201', { limit: 201 }, 'TMS.0002'],
    ['a negative offset', { offset: -1 }, 'TMS.0002'],
    ['an empty key', { tags: [{ key: '', values: [] }] }, 'TMS.0009'],
    [
      'a key twice',
      {
        tags: [
          { key: 'a', values: [] },
          { key: 'a', values: [] },
        ],
      },
      'TMS.0009',
    ],
    ["the value '*'", { tags: [{ key: 'a', values: ['*'] }] }, 'TMS.0010'],
    ['a value too long', { tags: [{ key: 'a', values: ['v'.repeat(256)] }] }, 'TMS.0010'],
    ['an unknown type', { resource_types: ['ecs'] }, 'TMS.5027'],
    ['an empty type list', { resource_types: [] }, 'TMS.0002'],
    ['a key with U+0000', { tags: [{ key: 'a\u0000', values: [] }] }, 'TMS.0009'],
    ['a value with U+0000', { tags: [{ key: 'a', values: ['\u0000'] }] }, 'TMS.0010'],
  ])('refuses %s', async (_what, body, code) => {
    expect(tmsError(await filter(body), 400)).toBe(code);
  });

  it('limit 200 is accepted, the default; a project token of another project is refused', async () => {
    expect((await filter({ limit: 200 })).statusCode).toBe(200);
    const stranger = await h.tenant();
    expect(tmsError(await filter({}, stranger.root.token), 403)).toBe('TMS.2030');
  });
});

describe('tag-keys and tag-values', () => {
  let t: Tenant;
  beforeAll(async () => {
    t = await h.tenant();
    await t.resource('bms_server', [tag('env', 'prod'), tag('b', '1')]);
    await t.resource('as_group', [tag('env', 'dev'), tag('a', '1')]);
    await t.resource('mrs_cluster', [tag('env', 'prod'), tag('c', '2')]);
    await t.resource('ddm_instance', [tag('env', 'test'), tag('e', '')]);
    await t.resource('modelarts_hyperinstance', [tag('env', 'qa'), tag('d', '1')]);
    const other = await h.tenant();
    await other.resource('bms_server', [tag('zz', 'other')]);
  });

  const keysPage = (q: string, token = t.root.token) =>
    get(`/v1.0/tag-keys?project_id=${t.projectId}${q}`, token);

  it('lists distinct keys across types, ascending, a page at a time', async () => {
    const all = json(await keysPage(''));
    expect(all).toEqual({
      keys: ['a', 'b', 'c', 'd', 'e', 'env'],
      page_info: { next_marker: null, current_count: 6 },
    });
    const seen: string[] = [];
    let marker = '';
    for (let i = 0; i < 10; i++) {
      const res = await keysPage(`&limit=4${marker ? `&marker=${marker}` : ''}`);
      const b = json(res) as { keys: string[]; page_info: { next_marker: string | null } };
      seen.push(...b.keys);
      if (!b.page_info.next_marker) break;
      marker = b.page_info.next_marker;
    }
    expect(seen).toEqual(['a', 'b', 'c', 'd', 'e', 'env']);
  });

  it('lists distinct values of a key across types', async () => {
    const res = await get(
      `/v1.0/tag-values?project_id=${t.projectId}&key=env&limit=3`,
      t.root.token,
    );
    const b = json(res) as {
      values: string[];
      page_info: { next_marker: string; current_count: number };
    };
    expect(b.values).toEqual(['dev', 'prod', 'qa']);
    expect(b.page_info.current_count).toBe(3);
    const next = await get(
      `/v1.0/tag-values?project_id=${t.projectId}&key=env&marker=${b.page_info.next_marker}`,
      t.root.token,
    );
    expect(json(next)).toEqual({
      values: ['test'],
      page_info: { next_marker: null, current_count: 1 },
    });
    const empty = await get(`/v1.0/tag-values?project_id=${t.projectId}&key=e`, t.root.token);
    expect(json(empty)).toEqual({
      values: [''],
      page_info: { next_marker: null, current_count: 1 },
    });
  });

  it.each([
    ['no project_id', '/v1.0/tag-keys', 'TMS.0002'],
    ['limit 0', '/v1.0/tag-keys?project_id=P&limit=0', 'TMS.0002'],
    ['a bad marker', '/v1.0/tag-keys?project_id=P&marker=%25%25', 'TMS.0002'],
    ['no key', '/v1.0/tag-values?project_id=P', 'TMS.0009'],
    ['a key with U+0000', '/v1.0/tag-values?project_id=P&key=a%00', 'TMS.0009'],
    [
      'a marker hiding U+0000',
      `/v1.0/tag-keys?project_id=P&marker=${Buffer.from('\u0000').toString('base64url')}`,
      'TMS.0002',
    ],
  ])('refuses %s', async (_what, url, code) => {
    expect(tmsError(await get(url.replace('P', t.projectId), t.root.token), 400)).toBe(code);
  });

  it('a domain-scoped token may list; an IAM user without a policy may not', async () => {
    expect((await keysPage('', t.root.domainToken)).statusCode).toBe(200);
    expect(tmsError(await keysPage('', t.iamUser.token), 403)).toBe('TMS.2030');
  });
});

describe('providers', () => {
  it('lists the five resource types', async () => {
    const t = await h.tenant();
    const res = await get('/v1.0/tms/providers', t.root.token);
    const b = json(res) as {
      providers: { provider: string; resource_types: { resource_type: string }[] }[];
      total_count: number;
    };
    expect(b.total_count).toBe(5);
    expect(b.providers.flatMap((p) => p.resource_types.map((r) => r.resource_type)).sort()).toEqual(
      ['as_group', 'bms_server', 'ddm_instance', 'modelarts_hyperinstance', 'mrs_cluster'],
    );
    const one = json(await get('/v1.0/tms/providers?provider=bms', t.root.token));
    expect(one).toMatchObject({ total_count: 1, providers: [{ provider: 'bms' }] });
  });
});
