import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHarness, type Harness, json } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

it('documents every query, project-tag and cross-service route with its action and codes', async () => {
  const doc = json(await h.inject({ method: 'GET', url: '/openapi.json' })) as {
    paths: Record<string, Record<string, Record<string, unknown>>>;
  };
  const expected: [string, string, string, string][] = [
    ['get', '/v3/{project_id}/instances/tags', 'ListProjectTags', 'ddm:instance:listProjectTags'],
    [
      'get',
      '/autoscaling-api/v1/{project_id}/{resource_type}/tags',
      'ListScalingTagInfosByTenantId',
      'as:groups:listProjectTags',
    ],
    [
      'post',
      '/autoscaling-api/v1/{project_id}/{resource_type}/resource_instances/action',
      'ListResourceInstances',
      'as:groups:listResourceInstances',
    ],
    ['get', '/v1.1/{project_id}/clusters/tags', 'ListAllTags', 'mrs:cluster:listProjectTags'],
    [
      'post',
      '/v1.1/{project_id}/clusters/resource_instances/action',
      'ListClustersByTags',
      'mrs:cluster:listResourceInstances',
    ],
    [
      'post',
      '/v1.0/resource-tags/batch-create',
      'BatchCreateResourceTags',
      'tms:resourceTags:batchCreate',
    ],
    [
      'post',
      '/v1.0/resource-tags/batch-delete',
      'BatchDeleteResourceTags',
      'tms:resourceTags:batchDelete',
    ],
    ['post', '/v1.0/resource-instances/filter', 'ListResourcesByTags', 'tms:resources:list'],
    ['get', '/v1.0/tag-keys', 'ListTagKeys', 'tms:tagKeys:list'],
    ['get', '/v1.0/tag-values', 'ListTagValues', 'tms:tagValues:list'],
    ['get', '/v1.0/tms/providers', 'ListProviders', 'tms:providers:list'],
  ];
  for (const [method, path, operationId, action] of expected) {
    const op = doc.paths[path]?.[method];
    expect(op, `${method} ${path}`).toBeDefined();
    expect(op?.operationId).toBe(operationId);
    expect(op?.['x-iam-actions']).toEqual([{ action, requires: [] }]);
    // Every refusal is documented: MRS refuses a policy with 401 12000136 and a scope with 400
    // 12000052; the others with a 403. Store faults are the gateway's 502 and 504.
    const refusals = path.startsWith('/v1.1/') ? [] : ['403'];
    expect(Object.keys(op?.responses as object)).toEqual(
      expect.arrayContaining(['200', '400', '401', ...refusals, '502', '504']),
    );
    expect(Object.keys(op?.responses as object)).not.toContain('503');
  }
  const filter = doc.paths['/v1.0/resource-instances/filter']?.post as {
    responses: Record<string, { description?: string }>;
  };
  expect(JSON.stringify(filter.responses['400'])).toMatch(/TMS\.0009.*TMS\.0010.*TMS\.5027/s);
});

it('documents the refusals of revision 2 in each service table', async () => {
  const doc = json(await h.inject({ method: 'GET', url: '/openapi.json' })) as {
    paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  };
  const responses = (method: string, path: string) =>
    JSON.stringify(doc.paths[path]?.[method]?.responses);
  const mrs = responses('get', '/v1.1/{project_id}/clusters/{cluster_id}/tags');
  expect(mrs).toMatch(/"401":.*12000136.*APIG\.0301/s);
  expect(mrs).toMatch(/"400":.*12000003.*12000052/s);
  expect(mrs).toMatch(/"500":.*12000004/s);
  const as = responses(
    'post',
    '/autoscaling-api/v1/{project_id}/{resource_type}/{resource_id}/tags/action',
  );
  expect(as).toMatch(/"400":.*AS\.0002.*AS\.0008.*AS\.2007.*AS\.7052.*AS\.7054/s);
  const ma = responses('get', '/v1/{project_id}/dev-servers/hyperinstance/{id}/tags');
  expect(ma).toMatch(/"400":.*ModelArts\.0101.*ModelArts\.6404/s);
  expect(ma).toMatch(/"403":.*ModelArts\.0108.*ModelArts\.0210/s);
  expect(ma).not.toMatch(/"404"/);
  for (const [method, path] of [
    ['get', '/v1/{project_id}/baremetalservers/{server_id}/tags'],
    ['get', '/v3/{project_id}/instances/{instance_id}/tags'],
  ] as const) {
    expect(responses(method, path)).not.toMatch(/"404"/);
  }
  expect(responses('get', '/v1/{project_id}/baremetalservers/{server_id}/tags')).toMatch(
    /"502":.*APIG\.0202.*"504":.*APIG\.0203/s,
  );
});
