import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKEN_LIFETIME_MS } from '../../src/auth/tokens.js';
import type { ResourceType } from '../../src/services/registry.js';
import { ADMIN_TOKEN, createHarness, type Harness, json, type Tenant } from '../support/harness.js';

/** Identity policies on the query, project-tag and cross-service routes. */
describe('identity policies on queries and the cross-service API', () => {
  let h: Harness;
  let t: Tenant;

  beforeAll(async () => {
    h = await createHarness();
    t = await h.tenant();
  });
  afterAll(() => h.close());

  const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

  /** A project token of a new IAM user with these statements. */
  const userWith = async (...statements: object[]): Promise<string> => {
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
    return await h.token({
      userId: (json(res) as { id: string }).id,
      domainId: t.domainId,
      projectId: t.projectId,
      issuedAt: now,
      expiresAt: now + TOKEN_LIFETIME_MS,
    });
  };
  const allow = (Action: string[], Condition?: object) => ({
    Effect: 'Allow',
    Action,
    Resource: ['*'],
    ...(Condition ? { Condition } : {}),
  });

  const post = (url: string, body: unknown, token: string) =>
    h.inject({
      method: 'POST',
      url,
      headers: { 'x-auth-token': token, 'content-type': 'application/json' },
      payload: JSON.stringify(body),
    });

  const tagsOf = async (type: ResourceType, id: string) => {
    const res = await h.inject({
      method: 'GET',
      url: `/admin/v1/projects/${t.projectId}/resources?type=${type}`,
      headers: admin,
    });
    return (json(res) as { resources: { id: string; tags: unknown }[] }).resources.find(
      (r) => r.id === id,
    )?.tags;
  };

  it('a query needs the service query action; project tags need theirs', async () => {
    const url = `/v1.1/${t.projectId}/clusters/resource_instances/action`;
    const reader = await userWith(allow(['mrs:cluster:listResourceInstances']));
    expect((await post(url, { action: 'count' }, reader)).statusCode).toBe(200);
    const tagsRes = await h.inject({
      method: 'GET',
      url: `/v1.1/${t.projectId}/clusters/tags`,
      headers: { 'x-auth-token': reader },
    });
    // MRS answers an IAM policy's refusal 401 12000136, naming the action.
    expect(tagsRes.statusCode).toBe(401);
    expect(json(tagsRes)).toEqual({
      error_code: '12000136',
      error_msg:
        "Permission denied. Error message: Policy doesn't allow mrs:cluster:listProjectTags to be performed.",
    });
    const other = await userWith(allow(['mrs:cluster:listTags']));
    const denied = await post(url, { action: 'count' }, other);
    expect(denied.statusCode).toBe(401);
    expect((json(denied) as { error_msg: string }).error_msg).toMatch(
      /mrs:cluster:listResourceInstances/,
    );
  });

  it("a batch needs the cross-service action, and each resource its own service's action", async () => {
    const bms = await t.resource('bms_server');
    const group = await t.resource('as_group');
    const body = {
      project_id: t.projectId,
      resources: [
        { resource_id: bms, resource_type: 'bms_server' },
        { resource_id: group, resource_type: 'as_group' },
      ],
      tags: [{ key: 'env', value: 'dev' }],
    };
    const cluster = await t.resource('mrs_cluster');
    const bmsOnly = await userWith(allow(['tms:resourceTags:batchCreate', 'bms:servers:*']));
    const res = await post(
      '/v1.0/resource-tags/batch-create',
      {
        ...body,
        resources: [...body.resources, { resource_id: cluster, resource_type: 'mrs_cluster' }],
      },
      bmsOnly,
    );
    expect(res.statusCode).toBe(200);
    const failed = (json(res) as { failed_resources: Record<string, string>[] }).failed_resources;
    // Each refusal as its own service answers it: AS.0011, and MRS 12000136 with its message.
    expect(failed.map((f) => [f.resource_id, f.error_code])).toEqual([
      [group, 'AS.0011'],
      [cluster, '12000136'],
    ]);
    expect(failed[0]!.error_msg).toMatch(/as:groups:createTags/);
    expect(failed[1]!.error_msg).toBe(
      "Permission denied. Error message: Policy doesn't allow mrs:cluster:batchCreateTags to be performed.",
    );
    expect(await tagsOf('bms_server', bms)).toEqual([{ key: 'env', value: 'dev' }]);
    expect(await tagsOf('as_group', group)).toEqual([]);
    expect(await tagsOf('mrs_cluster', cluster)).toEqual([]);

    const servicesOnly = await userWith(allow(['bms:servers:*', 'as:groups:*']));
    const refused = await post('/v1.0/resource-tags/batch-create', body, servicesOnly);
    expect(refused.statusCode).toBe(403);
    expect(json(refused)).toMatchObject({ error_code: 'TMS.2030' });
    expect((json(refused) as { error_msg: string }).error_msg).toMatch(
      /tms:resourceTags:batchCreate/,
    );
  });

  it('conditions on the resource hold per resource in a batch', async () => {
    const dev = await t.resource('as_group', [{ key: 'env', value: 'dev' }]);
    const prod = await t.resource('as_group', [{ key: 'env', value: 'prod' }]);
    const token = await userWith(
      allow(['tms:resourceTags:batchDelete']),
      allow(['as:groups:deleteTags'], { StringEquals: { 'g:ResourceTag/env': ['dev'] } }),
    );
    const res = await post(
      '/v1.0/resource-tags/batch-delete',
      {
        project_id: t.projectId,
        resources: [
          { resource_id: dev, resource_type: 'as_group' },
          { resource_id: prod, resource_type: 'as_group' },
        ],
        tags: [{ key: 'env' }],
      },
      token,
    );
    const failed = (json(res) as { failed_resources: Record<string, string>[] }).failed_resources;
    expect(failed.map((f) => [f.resource_id, f.error_code])).toEqual([[prod, 'AS.0011']]);
    expect(await tagsOf('as_group', dev)).toEqual([]);
    expect(await tagsOf('as_group', prod)).toEqual([{ key: 'env', value: 'prod' }]);
  });

  it('listing across types needs the cross-service list actions', async () => {
    const lister = await userWith(allow(['tms:resources:list', 'tms:tagKeys:list']));
    expect(
      (await post('/v1.0/resource-instances/filter', { project_id: t.projectId }, lister))
        .statusCode,
    ).toBe(200);
    const keys = await h.inject({
      method: 'GET',
      url: `/v1.0/tag-keys?project_id=${t.projectId}`,
      headers: { 'x-auth-token': lister },
    });
    expect(keys.statusCode).toBe(200);
    const values = await h.inject({
      method: 'GET',
      url: `/v1.0/tag-values?project_id=${t.projectId}&key=env`,
      headers: { 'x-auth-token': lister },
    });
    expect(values.statusCode).toBe(403);
    expect(json(values)).toMatchObject({ error_code: 'TMS.2030' });
  });
});
