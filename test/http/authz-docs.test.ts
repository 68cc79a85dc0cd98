import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_ERRORS } from '../../src/http/gateway-errors.js';
import { routePermissionNames } from '../../src/services/profile.js';
import { PROFILES } from '../../src/services/registry.js';
import { tms } from '../../src/services/tms.js';
import { createHarness, type Harness, json } from '../support/harness.js';

/** The action table is documented where the brief says: the README and the OpenAPI document. */
describe('identity-policy actions in the documentation', () => {
  let h: Harness;
  let doc: {
    info: { description: string };
    paths: Record<string, Record<string, Record<string, unknown>>>;
  };
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

  beforeAll(async () => {
    h = await createHarness();
    doc = json(await h.inject({ method: 'GET', url: '/openapi.json' })) as typeof doc;
  });
  afterAll(() => h.close());

  it('every action of every service is in the README and the OpenAPI description', () => {
    for (const p of PROFILES) {
      for (const perm of Object.values(p.permissions)) {
        const short = perm!.action.replace(/^[^:]+:[^:]+:/, '…:');
        expect(
          readme.includes(`\`${perm!.action}\``) || readme.includes(`\`${short}\``),
          perm!.action,
        ).toBe(true);
        expect(doc.info.description).toContain(`\`${perm!.action}\``);
        for (const r of perm!.requires ?? []) expect(readme).toContain(`\`${r}\``);
      }
    }
  });

  it('every tag operation lists its actions in x-iam-actions', () => {
    for (const p of PROFILES) {
      for (const r of p.routes) {
        const path = r.path.replace(/:([A-Za-z_]+)/g, '{$1}');
        const op = doc.paths[path]?.[r.method.toLowerCase()];
        expect(op, `${r.method} ${path}`).toBeDefined();
        const expected = routePermissionNames(r)
          .map((n) => p.permissions[n])
          .filter((x) => x !== undefined)
          .map((x) => ({ action: x.action, requires: [...(x.requires ?? [])] }));
        expect(op!['x-iam-actions'], `${r.method} ${path}`).toEqual(expected);
        if (p.authorization === 'none') expect(op!['x-iam-permission-required']).toBe(false);
      }
    }
  });

  it("one-tag writes list their service's batch action; the cross-service routes theirs", () => {
    const actions = (method: string, path: string) =>
      ((doc.paths[path]?.[method]?.['x-iam-actions'] ?? []) as { action: string }[]).map(
        (a) => a.action,
      );
    expect(actions('post', '/v1.1/{project_id}/clusters/{cluster_id}/tags')).toEqual([
      'mrs:cluster:batchCreateTags',
    ]);
    expect(actions('delete', '/v1.1/{project_id}/clusters/{cluster_id}/tags/{key}')).toEqual([
      'mrs:cluster:batchDeleteTags',
    ]);
    expect(actions('put', '/v3/{project_id}/instances/{instance_id}/tags/{key}')).toEqual([
      'ddm:instance:createTags',
    ]);
    expect(actions('post', '/v1.0/resource-tags/batch-create')).toEqual([
      'tms:resourceTags:batchCreate',
    ]);
    expect(actions('post', '/v1.0/resource-instances/filter')).toEqual(['tms:resources:list']);
    expect(actions('get', '/v1.0/tag-keys')).toEqual(['tms:tagKeys:list']);
    expect(actions('get', '/v1.0/tag-values')).toEqual(['tms:tagValues:list']);
    expect(doc.info.description).toMatch(/Reads of many resources/);
  });

  it('the credential admin routes are documented with schemas', () => {
    for (const [path, method] of [
      ['/admin/v1/users', 'post'],
      ['/admin/v1/users', 'get'],
      ['/admin/v1/users/{user_id}', 'get'],
      ['/admin/v1/users/{user_id}', 'delete'],
      ['/admin/v1/users/{user_id}/policies', 'post'],
      ['/admin/v1/users/{user_id}/policies', 'put'],
      ['/admin/v1/users/{user_id}/password', 'put'],
      ['/admin/v1/users/{user_id}/access-keys', 'post'],
      ['/admin/v1/users/{user_id}/access-keys', 'get'],
      ['/admin/v1/users/{user_id}/access-keys/{access_key}', 'delete'],
    ] as const) {
      const op = doc.paths[path]?.[method];
      expect(op?.operationId, `${method} ${path}`).toBeTruthy();
      expect(op?.responses, `${method} ${path}`).toBeTruthy();
      expect(readme).toContain(`${method.toUpperCase()} ${path}`);
    }
  });
});

/** SPEC §2–§5: each service's error table, and the gateway's, are documented as applied. */
describe('error tables in the README and the OpenAPI document', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const errors = readme.slice(readme.indexOf('## Errors'), readme.indexOf('## Authentication'));

  it('every code of every service, with its status, is in the README', () => {
    for (const p of [...PROFILES, tms]) {
      const routeRows = 'routes' in p ? p.routes.flatMap((r) => r.errors?.errors ?? []) : [];
      for (const row of [...p.errors, ...routeRows, { ...p.internalError, status: 500 }]) {
        expect(errors, `${p.id} ${row.code}`).toContain(`| \`${row.code}\` | ${row.status} |`);
      }
    }
  });

  it('every gateway code, with its status, is in the README and the OpenAPI description', async () => {
    const h = await createHarness();
    try {
      const doc = json(await h.inject({ method: 'GET', url: '/openapi.json' })) as {
        info: { description: string };
      };
      for (const e of Object.values(GATEWAY_ERRORS)) {
        expect(errors).toMatch(
          new RegExp(`\\| \`${e.code.replace('.', '\\.')}\` \\| ${e.status} \\|`),
        );
        expect(doc.info.description).toContain(`| \`${e.code}\` | ${e.status} |`);
      }
      for (const p of PROFILES) {
        for (const row of [...p.errors, ...p.routes.flatMap((r) => r.errors?.errors ?? [])]) {
          expect(doc.info.description).toContain(`| \`${row.code}\` | ${row.status} |`);
        }
      }
      expect(errors).not.toMatch(/APIG\.0503/);
      expect(doc.info.description).not.toMatch(/APIG\.0503/);
    } finally {
      await h.close();
    }
  });
});
