import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKEN_LIFETIME_MS } from '../../src/auth/tokens.js';
import type { ResourceType } from '../../src/services/registry.js';
import { ADMIN_TOKEN, createHarness, type Harness, json, type Tenant } from '../support/harness.js';

/**
 * SPEC §6 (revision 2): on every route that returns or counts many resources, an IAM user's
 * policies apply per resource, with the resource's own tags and enterprise project; a resource
 * it could not read through its service's list route is neither returned nor counted, and its
 * tags are not among the keys and values. Root and the admin see everything.
 */

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
type Tag = { key: string; value: string };
type Statement = Record<string, unknown>;

const statement = (Effect: 'Allow' | 'Deny', Action: string[], Condition?: object) => ({
  Effect,
  Action,
  Resource: ['*'],
  ...(Condition ? { Condition } : {}),
});
const allow = (Action: string[], Condition?: object) => statement('Allow', Action, Condition);
const deny = (Action: string[], Condition?: object) => statement('Deny', Action, Condition);

/** A project token of a new IAM user of the tenant's domain with these statements. */
async function userWith(t: Tenant, statements: Statement[]): Promise<string> {
  const res = await h.inject({
    method: 'POST',
    url: '/admin/v1/users',
    headers: admin,
    payload: JSON.stringify({
      name: `u-${randomUUID().slice(0, 8)}`,
      domain_id: t.domainId,
      policies: [{ Version: '5.0', Statement: statements }],
    }),
  });
  expect(res.statusCode, res.body).toBe(201);
  const now = Date.now();
  return h.token({
    userId: (json(res) as { id: string }).id,
    domainId: t.domainId,
    projectId: t.projectId,
    issuedAt: now,
    expiresAt: now + TOKEN_LIFETIME_MS,
  });
}

function call(
  token: string,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  body?: unknown,
) {
  return h.inject({
    method,
    url,
    headers: {
      'x-auth-token': token,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
  });
}

interface Seeded {
  readonly type: ResourceType;
  readonly id: string;
  readonly tags: readonly Tag[];
}

async function seedResource(
  t: Tenant,
  type: ResourceType,
  tags: readonly Tag[],
  enterpriseProject = '0',
): Promise<Seeded> {
  const id = randomUUID();
  await h.seed({
    resources: [
      {
        project_id: t.projectId,
        type,
        id,
        name: `res-${id.slice(0, 8)}`,
        enterprise_project_id: enterpriseProject,
        tags,
      },
    ],
  });
  return { type, id, tags };
}

const QUERY_TYPES = { as_group: 'AS', mrs_cluster: 'MRS' } as const;
const queryUrl = (t: Tenant, type: keyof typeof QUERY_TYPES) =>
  type === 'as_group'
    ? `/autoscaling-api/v1/${t.projectId}/scaling_group_tag/resource_instances/action`
    : `/v1.1/${t.projectId}/clusters/resource_instances/action`;
const PROJECT_TAG_TYPES = ['as_group', 'mrs_cluster', 'ddm_instance'] as const;
const projectTagsUrl = (t: Tenant, type: (typeof PROJECT_TAG_TYPES)[number]) =>
  ({
    as_group: `/autoscaling-api/v1/${t.projectId}/scaling_group_tag/tags`,
    mrs_cluster: `/v1.1/${t.projectId}/clusters/tags`,
    ddm_instance: `/v3/${t.projectId}/instances/tags?limit=100`,
  })[type];
const ALL_TYPES: ResourceType[] = [
  'as_group',
  'mrs_cluster',
  'ddm_instance',
  'bms_server',
  'modelarts_hyperinstance',
];

/** Each key once, ascending, with its distinct values ascending. */
function keyValues(resources: readonly Seeded[]) {
  const byKey = new Map<string, Set<string>>();
  for (const r of resources) {
    for (const t of r.tags) byKey.set(t.key, (byKey.get(t.key) ?? new Set()).add(t.value));
  }
  return [...byKey.keys()].sort().map((key) => ({ key, values: [...byKey.get(key)!].sort() }));
}

/** What every multi-resource read route shows a caller, in one comparable object. */
async function observe(t: Tenant, token: string) {
  const out: Record<string, unknown> = {};
  for (const type of Object.keys(QUERY_TYPES) as (keyof typeof QUERY_TYPES)[]) {
    const filter = json(await call(token, 'POST', queryUrl(t, type), { action: 'filter' })) as {
      resources: { resource_id: string }[];
      total_count: number;
    };
    out[`${type} filter`] = {
      ids: filter.resources.map((r) => r.resource_id).sort(),
      total: filter.total_count,
    };
    const count = json(await call(token, 'POST', queryUrl(t, type), { action: 'count' }));
    out[`${type} count`] = count;
    // A condition only the hidden resource meets finds nothing.
    const named = json(
      await call(token, 'POST', queryUrl(t, type), {
        action: 'count',
        tags: [{ key: 'shared', values: ['unseen'] }],
      }),
    );
    out[`${type} count of shared=unseen`] = named;
  }
  for (const type of PROJECT_TAG_TYPES) {
    const res = json(await call(token, 'GET', projectTagsUrl(t, type))) as {
      tags: unknown;
      total_count?: number;
    };
    out[`${type} project tags`] = res.tags;
    if (res.total_count !== undefined) out[`${type} project tag total`] = res.total_count;
  }
  const filter = json(
    await call(token, 'POST', '/v1.0/resource-instances/filter', { project_id: t.projectId }),
  ) as { resources: { resource_id: string }[]; total_count: number };
  out['cross-service filter'] = {
    ids: filter.resources.map((r) => r.resource_id).sort(),
    total: filter.total_count,
  };
  const keys = json(await call(token, 'GET', `/v1.0/tag-keys?project_id=${t.projectId}`)) as {
    keys: string[];
  };
  out['tag keys'] = keys.keys;
  for (const key of ['shared', 'hidden']) {
    const values = json(
      await call(token, 'GET', `/v1.0/tag-values?project_id=${t.projectId}&key=${key}`),
    ) as { values: string[] };
    out[`tag values of ${key}`] = values.values;
  }
  return out;
}

/** What `observe` shows a caller who may read exactly these resources. */
function expected(shown: readonly Seeded[]) {
  const out: Record<string, unknown> = {};
  const of = (type: ResourceType) => shown.filter((r) => r.type === type);
  for (const type of Object.keys(QUERY_TYPES) as ResourceType[]) {
    out[`${type} filter`] = {
      ids: of(type)
        .map((r) => r.id)
        .sort(),
      total: of(type).length,
    };
    out[`${type} count`] = { total_count: of(type).length };
    const named = of(type).filter((r) =>
      r.tags.some((x) => x.key === 'shared' && x.value === 'unseen'),
    );
    out[`${type} count of shared=unseen`] = { total_count: named.length };
  }
  for (const type of PROJECT_TAG_TYPES) {
    out[`${type} project tags`] = keyValues(of(type));
    if (type === 'ddm_instance') out[`${type} project tag total`] = keyValues(of(type)).length;
  }
  out['cross-service filter'] = { ids: shown.map((r) => r.id).sort(), total: shown.length };
  const all = keyValues(shown);
  out['tag keys'] = all.map((kv) => kv.key);
  for (const key of ['shared', 'hidden']) {
    out[`tag values of ${key}`] = all.find((kv) => kv.key === key)?.values ?? [];
  }
  return out;
}

const tag = (key: string, value: string): Tag => ({ key, value });

const SCENARIOS: {
  readonly name: string;
  readonly statements: Statement[];
  /** Tags and enterprise project of a resource the user may read, and of one it may not. */
  readonly visible: { tags: Tag[]; ep?: string };
  readonly hidden: { tags: Tag[]; ep?: string };
}[] = [
  {
    name: 'a Deny on every action where g:ResourceTag/secret is "yes"',
    statements: [allow(['*']), deny(['*'], { StringEquals: { 'g:ResourceTag/secret': ['yes'] } })],
    visible: { tags: [tag('env', 'dev'), tag('shared', 'seen')] },
    hidden: {
      tags: [tag('env', 'dev'), tag('shared', 'unseen'), tag('secret', 'yes'), tag('hidden', 'x')],
    },
  },
  {
    name: 'an Allow only where g:ResourceTag/env is like "d*"',
    statements: [allow(['*'], { StringLike: { 'g:ResourceTag/env': ['d*'] } })],
    visible: { tags: [tag('env', 'dev'), tag('shared', 'seen')] },
    hidden: { tags: [tag('env', 'prod'), tag('shared', 'unseen'), tag('hidden', 'x')] },
  },
  {
    name: 'an Allow only in enterprise project "ep-open"',
    statements: [allow(['*'], { StringEquals: { 'g:EnterpriseProjectId': ['ep-open'] } })],
    visible: { tags: [tag('env', 'dev'), tag('shared', 'seen')], ep: 'ep-open' },
    hidden: {
      tags: [tag('env', 'dev'), tag('shared', 'unseen'), tag('hidden', 'x')],
      ep: 'ep-closed',
    },
  },
];

for (const s of SCENARIOS) {
  describe(`reads of many resources under ${s.name}`, () => {
    let t: Tenant;
    let visible: Seeded[];
    let hidden: Seeded[];
    let token: string;
    let asUser: Record<string, unknown>;

    beforeAll(async () => {
      t = await h.tenant();
      visible = [];
      hidden = [];
      for (const type of ALL_TYPES) {
        visible.push(await seedResource(t, type, s.visible.tags, s.visible.ep));
        hidden.push(await seedResource(t, type, s.hidden.tags, s.hidden.ep));
      }
      token = await userWith(t, s.statements);
      asUser = await observe(t, token);
    });

    it('the user cannot read a hidden resource one at a time', async () => {
      const group = hidden.find((r) => r.type === 'as_group')!;
      const res = await call(
        token,
        'GET',
        `/autoscaling-api/v1/${t.projectId}/scaling_group_tag/${group.id}/tags`,
      );
      expect(res.statusCode, res.body).toBe(403);
    });

    const routes = Object.keys(expected([]));
    for (const route of routes) {
      it(`${route}: the hidden resource is neither returned nor counted`, () => {
        expect(asUser[route]).toEqual(expected(visible)[route]);
      });
    }

    it('the root user sees every resource on every route', async () => {
      expect(await observe(t, t.root.token)).toEqual(expected([...visible, ...hidden]));
    });

    it('the admin API lists every resource', async () => {
      const res = await h.inject({
        method: 'GET',
        url: `/admin/v1/projects/${t.projectId}/resources?type=as_group`,
        headers: admin,
      });
      const ids = (json(res) as { resources: { id: string }[] }).resources.map((r) => r.id);
      expect(ids.sort()).toEqual(
        [...visible, ...hidden]
          .filter((r) => r.type === 'as_group')
          .map((r) => r.id)
          .sort(),
      );
    });
  });
}

describe('reads of many resources: pages and the list action', () => {
  let t: Tenant;
  beforeAll(async () => {
    t = await h.tenant();
  });

  it('pages are full and totals exact among resources the user may not read', async () => {
    const shown: string[] = [];
    // Registered alternately, newest last: the hidden ones sit between every two shown ones.
    for (let i = 0; i < 5; i++) {
      shown.push((await seedResource(t, 'as_group', [tag('env', 'dev')])).id);
      await seedResource(t, 'as_group', [tag('env', 'dev'), tag('secret', 'yes')]);
    }
    const token = await userWith(t, [
      allow(['as:groups:*']),
      deny(['as:groups:listTags'], { StringEquals: { 'g:ResourceTag/secret': ['yes'] } }),
    ]);
    const newestFirst = [...shown].reverse();
    for (const [offset, limit] of [
      [0, 2],
      [2, 2],
      [4, 2],
    ] as const) {
      const res = await call(token, 'POST', queryUrl(t, 'as_group'), {
        action: 'filter',
        tags: [{ key: 'env', values: ['dev'] }],
        offset: String(offset),
        limit: String(limit),
      });
      const body = json(res) as { resources: { resource_id: string }[]; total_count: number };
      expect(body.total_count).toBe(5);
      expect(body.resources.map((r) => r.resource_id)).toEqual(
        newestFirst.slice(offset, offset + limit),
      );
    }
  });

  it("a resource counts only where its own service's list action is granted on it", async () => {
    const dev = await seedResource(t, 'mrs_cluster', [tag('tier', 'dev')]);
    await seedResource(t, 'mrs_cluster', [tag('tier', 'prod')]);
    const token = await userWith(t, [
      allow(['mrs:cluster:listResourceInstances', 'tms:resources:list']),
      allow(['mrs:cluster:listTags'], { StringEquals: { 'g:ResourceTag/tier': ['dev'] } }),
    ]);
    const found = json(
      await call(token, 'POST', queryUrl(t, 'mrs_cluster'), {
        action: 'filter',
        tags: [{ key: 'tier', values: [] }],
      }),
    ) as { resources: { resource_id: string }[]; total_count: number };
    expect(found.resources.map((r) => r.resource_id)).toEqual([dev.id]);
    expect(found.total_count).toBe(1);
    const across = json(
      await call(token, 'POST', '/v1.0/resource-instances/filter', {
        project_id: t.projectId,
        resource_types: ['mrs_cluster', 'as_group'],
        tags: [{ key: 'tier', values: [] }],
      }),
    ) as { resources: { resource_id: string }[]; total_count: number };
    expect(across.resources.map((r) => r.resource_id)).toEqual([dev.id]);
    expect(across.total_count).toBe(1);
    // Granted the route's action but no service's list action: nothing to show, not refused.
    const listOnly = await userWith(t, [allow(['tms:resources:list'])]);
    const none = await call(listOnly, 'POST', '/v1.0/resource-instances/filter', {
      project_id: t.projectId,
    });
    expect(none.statusCode).toBe(200);
    expect(json(none)).toMatchObject({ resources: [], total_count: 0 });
  });

  it("a user granted the route's action on no resource is refused, naming it", async () => {
    const token = await userWith(t, [
      allow(['mrs:cluster:listTags']),
      deny(['mrs:cluster:listResourceInstances']),
    ]);
    const res = await call(token, 'POST', queryUrl(t, 'mrs_cluster'), { action: 'count' });
    expect(res.statusCode).toBe(401);
    expect((json(res) as { error_msg: string }).error_msg).toMatch(
      /mrs:cluster:listResourceInstances/,
    );
  });
});

/** A write of one tag, and the cross-service batch, need what the service's batch needs. */
describe('one-tag writes and the cross-service batch under a Deny on the batch action', () => {
  let t: Tenant;
  beforeAll(async () => {
    t = await h.tenant();
  });

  const tagsOf = async (type: ResourceType, id: string) => {
    const res = await h.inject({
      method: 'GET',
      url: `/admin/v1/projects/${t.projectId}/resources?type=${type}`,
      headers: admin,
    });
    return (json(res) as { resources: { id: string; tags: Tag[] }[] }).resources.find(
      (r) => r.id === id,
    )?.tags;
  };
  const mrsMessage = (action: string) =>
    `Permission denied. Error message: Policy doesn't allow ${action} to be performed.`;

  it('MRS add one tag is refused by a Deny on mrs:cluster:batchCreateTags', async () => {
    const { id } = await seedResource(t, 'mrs_cluster', [tag('a', '1')]);
    const token = await userWith(t, [allow(['*']), deny(['mrs:cluster:batchCreateTags'])]);
    const res = await call(token, 'POST', `/v1.1/${t.projectId}/clusters/${id}/tags`, {
      tag: { key: 'b', value: '2' },
    });
    expect(res.statusCode).toBe(401);
    expect(json(res)).toEqual({
      error_code: '12000136',
      error_msg: mrsMessage('mrs:cluster:batchCreateTags'),
    });
    expect(await tagsOf('mrs_cluster', id)).toEqual([tag('a', '1')]);
  });

  it('MRS delete one tag is refused by a Deny on mrs:cluster:batchDeleteTags', async () => {
    const { id } = await seedResource(t, 'mrs_cluster', [tag('a', '1')]);
    const token = await userWith(t, [allow(['*']), deny(['mrs:cluster:batchDeleteTags'])]);
    const res = await call(token, 'DELETE', `/v1.1/${t.projectId}/clusters/${id}/tags/a`);
    expect(res.statusCode).toBe(401);
    expect(json(res)).toEqual({
      error_code: '12000136',
      error_msg: mrsMessage('mrs:cluster:batchDeleteTags'),
    });
    expect(await tagsOf('mrs_cluster', id)).toEqual([tag('a', '1')]);
  });

  it("DDM set one tag is refused by a Deny on ddm:instance:createTags, with the batch's conditions", async () => {
    const locked = await seedResource(t, 'ddm_instance', [tag('locked', 'yes')]);
    const open = await seedResource(t, 'ddm_instance', [tag('locked', 'no')]);
    const token = await userWith(t, [
      allow(['*']),
      deny(['ddm:instance:createTags'], { StringEquals: { 'g:ResourceTag/locked': ['yes'] } }),
    ]);
    const set = (id: string) =>
      call(token, 'PUT', `/v3/${t.projectId}/instances/${id}/tags/env`, { value: 'dev' });
    const refused = await set(locked.id);
    expect(refused.statusCode).toBe(403);
    expect(json(refused)).toMatchObject({ error_code: 'DBS.200003' });
    expect((json(refused) as { error_msg: string }).error_msg).toMatch(/ddm:instance:createTags/);
    expect(await tagsOf('ddm_instance', locked.id)).toEqual([tag('locked', 'yes')]);
    expect((await set(open.id)).statusCode).toBe(200);
    expect(await tagsOf('ddm_instance', open.id)).toEqual([tag('env', 'dev'), tag('locked', 'no')]);
  });

  it("the cross-service batch is refused per resource by a Deny on the service's batch action", async () => {
    const cluster = await seedResource(t, 'mrs_cluster', []);
    const secret = await seedResource(t, 'as_group', [tag('secret', 'yes')]);
    const plain = await seedResource(t, 'as_group', []);
    const token = await userWith(t, [
      allow(['*']),
      deny(['mrs:cluster:batchCreateTags']),
      deny(['as:groups:createTags'], { StringEquals: { 'g:ResourceTag/secret': ['yes'] } }),
    ]);
    const res = await call(token, 'POST', '/v1.0/resource-tags/batch-create', {
      project_id: t.projectId,
      resources: [cluster, secret, plain].map((r) => ({
        resource_id: r.id,
        resource_type: r.type,
      })),
      tags: [tag('env', 'dev')],
    });
    expect(res.statusCode).toBe(200);
    const failed = (json(res) as { failed_resources: Record<string, string>[] }).failed_resources;
    expect(failed.map((f) => [f.resource_id, f.error_code])).toEqual([
      [cluster.id, '12000136'],
      [secret.id, 'AS.0011'],
    ]);
    expect(await tagsOf('mrs_cluster', cluster.id)).toEqual([]);
    expect(await tagsOf('as_group', secret.id)).toEqual([tag('secret', 'yes')]);
    expect(await tagsOf('as_group', plain.id)).toEqual([tag('env', 'dev')]);
  });
});
