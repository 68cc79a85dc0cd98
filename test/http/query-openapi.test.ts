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
    expect(Object.keys(op?.responses as object)).toEqual(
      expect.arrayContaining(['200', '400', '401', '403']),
    );
  }
  const filter = doc.paths['/v1.0/resource-instances/filter']?.post as {
    responses: Record<string, { description?: string }>;
  };
  expect(JSON.stringify(filter.responses['400'])).toMatch(/TMS\.0009.*TMS\.0010.*TMS\.5027/s);
});
