import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportDatabase, importDatabase } from '../../../src/admin/backup.js';
import { TOKEN_LIFETIME_MS } from '../../../src/auth/tokens.js';
import { parseDatabaseUrl, Store } from '../../../src/store/database.js';
import { expectGatewayError } from '../../support/envelopes.js';
import {
  ADMIN_TOKEN,
  createHarness,
  type Harness,
  json,
  type Tenant,
} from '../../support/harness.js';
import { type SdkCall, sdkClient, sdkSend } from '../../support/sdk.js';
import { tagsN } from '../../support/service-spec.js';
import { signed } from '../../support/signing.js';
import { expectError } from '../../support/tag-api.js';
import { createTestDatabase, openTestStore } from '../../support/test-store.js';

/**
 * SPEC §3.5, MRS API v2: the tag quota, the default-tag status and the default-tag switch
 * (MRS API reference ShowTagQuota, ShowDefaultTagStatus, SwitchClusterTags; SDK models).
 */

const V2_CODE = 'MRS.00000000';
type Response = LightMyRequestResponse;
type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

let h: Harness;
let t: Tenant;

beforeAll(async () => {
  h = await createHarness();
  t = await h.tenant();
});
afterAll(() => h.close());

const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
const v2 = (id: string, project = t.projectId) => `/v2/${project}/clusters/${id}/tags`;
const v11 = (id: string, project = t.projectId) => `/v1.1/${project}/clusters/${id}/tags`;

/** A request with a token (none when `token` is undefined); an object body goes as JSON. */
function call(
  target: Harness,
  token: string | undefined,
  method: Method,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  const all: Record<string, string> = { ...headers };
  if (token !== undefined) all['x-auth-token'] = token;
  if (body !== undefined) all['content-type'] ??= 'application/json';
  return target.inject({
    method,
    url,
    headers: all,
    ...(body !== undefined
      ? { payload: typeof body === 'string' ? body : JSON.stringify(body) }
      : {}),
  });
}

const quota = (id: string, query = '', token = t.root.token, on = h) =>
  call(on, token, 'GET', `${v2(id)}/quota${query}`);
const status = (id: string, token = t.root.token, on = h) =>
  call(on, token, 'GET', `${v2(id)}/status`);
const switchTo = (id: string, body: unknown, token = t.root.token, on = h) =>
  call(on, token, 'POST', `${v2(id)}/switch`, body);

/** The quota answer: 200 with exactly `total_quota` and `available_quota`. */
async function quotaOf(id: string, query = ''): Promise<unknown> {
  const res = await quota(id, query);
  expect(res.statusCode, res.body).toBe(200);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  return json(res);
}

/** Whether the cluster's default tags are on: 200 with exactly `status` and the flag. */
async function defaultTagsOn(id: string, on = h): Promise<boolean> {
  const res = await status(id, t.root.token, on);
  expect(res.statusCode, res.body).toBe(200);
  const body = json(res) as Record<string, unknown>;
  expect(Object.keys(body)).toEqual(['status', 'default_tags_enable']);
  expect(body.status).toBe('succeed');
  expect(typeof body.default_tags_enable).toBe('boolean');
  return body.default_tags_enable as boolean;
}

/** A switch that succeeds: 202 with no body. */
async function switched(id: string, action: 'create' | 'delete', on = h): Promise<void> {
  const res = await switchTo(id, { action }, t.root.token, on);
  expect(res.statusCode, res.body).toBe(202);
  expect(res.body).toBe('');
}

/** The v2 error: 400, exactly `{"error_code":"MRS.00000000","error_msg"}`; its message. */
const expectV2Error = (res: Response) => expectError(res, 'flat', V2_CODE, 400);

const cluster = (tags?: { key: string; value: string }[]) => t.resource('mrs_cluster', tags);

/** The cluster's tags through the v1.1 listing. */
async function tagsOf(id: string): Promise<unknown> {
  const res = await call(h, t.root.token, 'GET', v11(id));
  expect(res.statusCode, res.body).toBe(200);
  return (json(res) as { tags: unknown[] }).tags;
}

describe('tag quota: GET /v2/{project_id}/clusters/{cluster_id}/tags/quota', () => {
  it('an untagged cluster → 200 {"total_quota":10,"available_quota":10}', async () => {
    const res = await quota(await cluster());
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('{"total_quota":10,"available_quota":10}');
  });

  it('available_quota is 10 less the tags, following every tag write', async () => {
    const id = await cluster(tagsN(3));
    expect(await quotaOf(id)).toEqual({ total_quota: 10, available_quota: 7 });
    const write = async (method: Method, url: string, body?: unknown) => {
      const res = await call(h, t.root.token, method, url, body);
      expect(res.statusCode, res.body).toBe(204);
    };
    await write('POST', `${v11(id)}/action`, { action: 'create', tags: tagsN(2, 'n') });
    expect(await quotaOf(id)).toEqual({ total_quota: 10, available_quota: 5 });
    // Overwriting a key takes no more quota.
    await write('POST', v11(id), { tag: { key: 'k0', value: 'other' } });
    expect(await quotaOf(id)).toEqual({ total_quota: 10, available_quota: 5 });
    await write('DELETE', `${v11(id)}/n1`);
    expect(await quotaOf(id)).toEqual({ total_quota: 10, available_quota: 6 });
    await write('POST', `${v11(id)}/action`, { action: 'create', tags: tagsN(6, 'm') });
    expect(await quotaOf(id)).toEqual({ total_quota: 10, available_quota: 0 });
    await write('POST', `${v11(id)}/action`, {
      action: 'delete',
      tags: ['k0', 'k1', 'k2', 'n0', 'm0', 'm1', 'm2', 'm3', 'm4', 'm5'].map((key) => ({ key })),
    });
    expect(await quotaOf(id)).toEqual({ total_quota: 10, available_quota: 10 });
  });

  it('is per cluster: another cluster of the project keeps its own count', async () => {
    const [a, b] = await Promise.all([cluster(tagsN(4)), cluster(tagsN(9))]);
    expect(await quotaOf(a)).toEqual({ total_quota: 10, available_quota: 6 });
    expect(await quotaOf(b)).toEqual({ total_quota: 10, available_quota: 1 });
  });

  it.each([
    ['true', '?auto_scaling_policy_tags=true'],
    ['false', '?auto_scaling_policy_tags=false'],
    ['TRUE (case is not significant)', '?auto_scaling_policy_tags=TRUE'],
    ['empty (taken as absent)', '?auto_scaling_policy_tags='],
    ['an unknown parameter beside it (ignored)', '?auto_scaling_policy_tags=false&other=x'],
  ])('auto_scaling_policy_tags %s → the cluster tag quota', async (_label, query) => {
    const id = await cluster(tagsN(2));
    expect(await quotaOf(id, query)).toEqual({ total_quota: 10, available_quota: 8 });
  });

  it.each([
    ['yes', '?auto_scaling_policy_tags=yes'],
    ['1', '?auto_scaling_policy_tags=1'],
    ['true with a space', '?auto_scaling_policy_tags=true%20'],
    ['given twice', '?auto_scaling_policy_tags=true&auto_scaling_policy_tags=false'],
  ])('auto_scaling_policy_tags %s → 400 MRS.00000000 naming it', async (_label, query) => {
    const message = expectV2Error(await quota(await cluster(), query));
    expect(message).toContain('auto_scaling_policy_tags');
  });
});

describe('default tags: GET …/tags/status and POST …/tags/switch', () => {
  it('off until switched on: 200 {"status":"succeed","default_tags_enable":false}', async () => {
    const res = await status(await cluster());
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toBe('{"status":"succeed","default_tags_enable":false}');
  });

  it('"create" turns them on and "delete" off, each 202 with no body; repeating either succeeds', async () => {
    const id = await cluster();
    await switched(id, 'create');
    expect(await defaultTagsOn(id)).toBe(true);
    await switched(id, 'create');
    expect(await defaultTagsOn(id)).toBe(true);
    await switched(id, 'delete');
    expect(await defaultTagsOn(id)).toBe(false);
    await switched(id, 'delete');
    expect(await defaultTagsOn(id)).toBe(false);
    await switched(id, 'create');
    expect(await defaultTagsOn(id)).toBe(true);
  });

  it('is per cluster: switching one leaves the others off', async () => {
    const [a, b] = await Promise.all([cluster(), cluster()]);
    await switched(a, 'create');
    expect(await defaultTagsOn(a)).toBe(true);
    expect(await defaultTagsOn(b)).toBe(false);
  });

  it('is not a tag: switching changes no tag and no quota, and tag writes leave it as it is', async () => {
    const id = await cluster(tagsN(2));
    await switched(id, 'create');
    expect(await tagsOf(id)).toEqual(tagsN(2));
    expect(await quotaOf(id)).toEqual({ total_quota: 10, available_quota: 8 });
    const res = await call(h, t.root.token, 'POST', `${v11(id)}/action`, {
      action: 'delete',
      tags: tagsN(2),
    });
    expect(res.statusCode).toBe(204);
    expect(await defaultTagsOn(id)).toBe(true);
  });

  it('unknown fields of the body are ignored', async () => {
    const id = await cluster();
    const res = await switchTo(id, { action: 'create', tags: null, cluster_id: 'x' });
    expect(res.statusCode, res.body).toBe(202);
    expect(await defaultTagsOn(id)).toBe(true);
  });

  it.each([
    ['not JSON', '{"action":'],
    ['empty', ''],
    ['a JSON array', '[{"action":"create"}]'],
    ['a JSON string', '"create"'],
    ['null', 'null'],
  ])('a body that is %s → 400 MRS.00000000, nothing switched', async (_label, body) => {
    const id = await cluster();
    await switched(id, 'create');
    const res = await call(h, t.root.token, 'POST', `${v2(id)}/switch`, body, {
      'content-type': 'application/json',
    });
    expect(expectV2Error(res)).toMatch(/body/);
    expect(await defaultTagsOn(id)).toBe(true);
  });

  it.each([
    ['missing', {}],
    ['null', { action: null }],
    ['Create', { action: 'Create' }],
    ['DELETE', { action: 'DELETE' }],
    ['on', { action: 'on' }],
    ['empty', { action: '' }],
    ['a number', { action: 1 }],
    ['a boolean', { action: true }],
  ])('action %s → 400 MRS.00000000 naming the action, nothing switched', async (_label, body) => {
    const id = await cluster();
    const message = expectV2Error(await switchTo(id, body));
    expect(message).toContain('action');
    expect(await defaultTagsOn(id)).toBe(false);
  });
});

describe('a cluster that does not exist → 400 MRS.00000000 naming it, on every route', () => {
  it.each([
    ['an unknown id', async () => 'no-such-cluster'],
    ['the id of a server of another type', () => t.resource('bms_server')],
    [
      'the id of a cluster of another project',
      async () => {
        const other = await h.tenant();
        return other.resource('mrs_cluster');
      },
    ],
  ])('%s', async (_label, idOf) => {
    const id = await idOf();
    for (const res of [
      await quota(id),
      await status(id),
      await switchTo(id, { action: 'create' }),
    ]) {
      expect(expectV2Error(res)).toContain(`'${id}'`);
    }
  });

  it('a bad body is reported before the unknown cluster', async () => {
    expect(expectV2Error(await switchTo('no-such-cluster', { action: 'on' }))).toContain('action');
  });
});

describe('credentials and scope, as in API v1.1', () => {
  const routes = (id: string) =>
    [
      { method: 'GET', url: `${v2(id)}/quota` },
      { method: 'GET', url: `${v2(id)}/status` },
      {
        method: 'POST',
        url: `${v2(id)}/switch`,
        headers: { 'content-type': 'application/json' },
        payload: '{"action":"create"}',
      },
    ] as { method: Method; url: string; headers?: Record<string, string>; payload?: string }[];

  it('signed with AK/SK (SDK-HMAC-SHA256): the three routes answer', async () => {
    const id = await cluster(tagsN(1));
    const [q, s, w] = routes(id).map((r) => signed({ headers: {}, ...r }, t.root));
    expect((await h.inject(q!)).statusCode).toBe(200);
    expect((await h.inject(w!)).statusCode).toBe(202);
    const res = await h.inject(s!);
    expect(json(res)).toEqual({ status: 'succeed', default_tags_enable: true });
  });

  it.each([
    ['no credentials', undefined],
    ['an empty token', ''],
    ['a garbage token', 'not-a-token'],
  ])('%s → 401 APIG.0301 in the gateway envelope, nothing switched', async (_label, token) => {
    const id = await cluster();
    for (const r of routes(id)) {
      const res = await h.inject({
        ...r,
        headers: { ...r.headers, ...(token !== undefined ? { 'x-auth-token': token } : {}) },
      });
      expectGatewayError(res, 401, 'APIG.0301');
    }
    expect(await defaultTagsOn(id)).toBe(false);
  });

  it('an expired token → 401 APIG.0301', async () => {
    const now = Date.now();
    const expired = await h.token({
      userId: t.root.id,
      domainId: t.domainId,
      projectId: t.projectId,
      issuedAt: now - 2000,
      expiresAt: now - 1000,
    });
    for (const r of routes(await cluster())) {
      expectGatewayError(
        await h.inject({ ...r, headers: { ...r.headers, 'x-auth-token': expired } }),
        401,
        'APIG.0301',
      );
    }
  });

  /**
   * The caller's refusal on the v2 routes is the one API v1.1 answers the same caller with (its
   * status and code, in the flat envelope), and not the v2 code of a bad request; nothing is
   * switched.
   */
  async function refusedAsV11(token: string, path = t.projectId): Promise<void> {
    const id = await cluster();
    const v11Answer = await call(h, token, 'GET', v11(id, path));
    expect(v11Answer.statusCode, v11Answer.body).toBeGreaterThanOrEqual(400);
    const code = (json(v11Answer) as { error_code: string }).error_code;
    for (const r of routes(id).map((x) => ({ ...x, url: x.url.replace(t.projectId, path) }))) {
      const res = await h.inject({ ...r, headers: { ...r.headers, 'x-auth-token': token } });
      expect(expectError(res, 'flat', code, v11Answer.statusCode)).toEqual(expect.any(String));
      expect(code).not.toBe(V2_CODE);
    }
    expect(await defaultTagsOn(id)).toBe(false);
  }

  it('a user of another domain → refused as API v1.1 refuses it', async () => {
    const other = await h.tenant();
    await refusedAsV11(other.root.token);
  });

  it('a token scoped to another project of the domain → refused as API v1.1 refuses it', async () => {
    const sibling = `${t.projectId}-b`;
    await h.seed({ projects: [{ id: sibling, name: 'eu-nl', domain_id: t.domainId }] });
    const now = Date.now();
    const token = await h.token({
      userId: t.root.id,
      domainId: t.domainId,
      projectId: sibling,
      issuedAt: now,
      expiresAt: now + TOKEN_LIFETIME_MS,
    });
    await refusedAsV11(token);
  });

  it('a domain-scoped token → refused as API v1.1 refuses it', async () => {
    await refusedAsV11(t.root.domainToken);
  });
});

describe('identity policies', () => {
  /** A project token of a new IAM user of the tenant's domain with these statements. */
  const userWith = async (...statements: object[]): Promise<string> => {
    const res = await h.inject({
      method: 'POST',
      url: '/admin/v1/users',
      headers: admin,
      payload: JSON.stringify({
        name: `u-${randomUUID().slice(0, 8)}`,
        domain_id: t.domainId,
        policies: statements.length ? [{ Version: '5.0', Statement: statements }] : [],
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
  const allow = (action: string[], Condition?: object) => ({
    Effect: 'Allow',
    Action: action,
    Resource: ['*'],
    ...(Condition ? { Condition } : {}),
  });
  const deny = (action: string[]) => ({ ...allow(action), Effect: 'Deny' });

  /** How API v1.1 refuses a user whose policies do not allow a call: its status and code. */
  let refusal: { status: number; code: string };
  beforeAll(async () => {
    const res = await call(h, await userWith(), 'GET', v11(await cluster()));
    refusal = { status: res.statusCode, code: (json(res) as { error_code: string }).error_code };
    expect(refusal.status).toBeGreaterThanOrEqual(400);
  });

  /** Refused as v1.1 refuses, the message naming the action. */
  const expectRefused = (res: Response, action: string) => {
    expect(expectError(res, 'flat', refusal.code, refusal.status)).toContain(action);
  };

  it('root users may do everything; a user without policies nothing', async () => {
    const id = await cluster();
    const token = await userWith();
    expectRefused(await quota(id, '', token), 'mrs:tag:list');
    expectRefused(await status(id, token), 'mrs:tag:list');
    expectRefused(await switchTo(id, { action: 'create' }, token), 'mrs:tag:batchOperate');
    expect(await defaultTagsOn(id)).toBe(false);
  });

  it('mrs:tag:list allows the quota and the status, not the switch', async () => {
    const id = await cluster(tagsN(3));
    const token = await userWith(allow(['mrs:tag:list']));
    const q = await quota(id, '', token);
    expect(json(q)).toEqual({ total_quota: 10, available_quota: 7 });
    expect((await status(id, token)).statusCode).toBe(200);
    expectRefused(await switchTo(id, { action: 'create' }, token), 'mrs:tag:batchOperate');
    expect(await defaultTagsOn(id)).toBe(false);
  });

  it('mrs:tag:batchOperate allows the switch, both ways', async () => {
    const id = await cluster();
    const token = await userWith(allow(['mrs:tag:batchOperate']));
    expect((await switchTo(id, { action: 'create' }, token)).statusCode).toBe(202);
    expect(await defaultTagsOn(id)).toBe(true);
    expect((await switchTo(id, { action: 'delete' }, token)).statusCode).toBe(202);
    expect(await defaultTagsOn(id)).toBe(false);
    expectRefused(await status(id, token), 'mrs:tag:list');
  });

  it('an explicit Deny wins over a wildcard Allow', async () => {
    const id = await cluster();
    const token = await userWith(allow(['mrs:*']), deny(['mrs:tag:batchOperate']));
    expect((await status(id, token)).statusCode).toBe(200);
    expectRefused(await switchTo(id, { action: 'create' }, token), 'mrs:tag:batchOperate');
    expect(await defaultTagsOn(id)).toBe(false);
  });

  it("conditions see the cluster's own tags (g:ResourceTag)", async () => {
    const [dev, prod] = await Promise.all([
      cluster([{ key: 'env', value: 'dev' }]),
      cluster([{ key: 'env', value: 'prod' }]),
    ]);
    const token = await userWith(
      allow(['mrs:tag:*'], { StringEquals: { 'g:ResourceTag/env': ['dev'] } }),
    );
    expect((await quota(dev, '', token)).statusCode).toBe(200);
    expect((await switchTo(dev, { action: 'create' }, token)).statusCode).toBe(202);
    expectRefused(await quota(prod, '', token), 'mrs:tag:list');
    expectRefused(await switchTo(prod, { action: 'create' }, token), 'mrs:tag:batchOperate');
    expect(await defaultTagsOn(dev)).toBe(true);
    expect(await defaultTagsOn(prod)).toBe(false);
  });

  it('a refused caller learns nothing of the body or the cluster: refused before both', async () => {
    const token = await userWith();
    expectRefused(
      await switchTo('no-such-cluster', { action: 'on' }, token),
      'mrs:tag:batchOperate',
    );
  });
});

describe('through the official Node SDK core (its signer and HTTP client)', () => {
  let endpoint: string;
  beforeAll(async () => {
    endpoint = await h.app.listen({ port: 0, host: '127.0.0.1' });
  });

  // As MrsClient (services/mrs/v2) builds the three calls.
  const quotaCall = (id: string, asPolicy?: boolean): SdkCall => ({
    method: 'GET',
    url: '/v2/{project_id}/clusters/{cluster_id}/tags/quota',
    pathParams: { cluster_id: id },
    ...(asPolicy !== undefined ? { queryParams: { auto_scaling_policy_tags: asPolicy } } : {}),
  });
  const statusCall = (id: string): SdkCall => ({
    method: 'GET',
    url: '/v2/{project_id}/clusters/{cluster_id}/tags/status',
    pathParams: { cluster_id: id },
  });
  const switchCall = (id: string, action: string): SdkCall => ({
    method: 'POST',
    url: '/v2/{project_id}/clusters/{cluster_id}/tags/switch',
    pathParams: { cluster_id: id },
    contentType: 'application/json;charset=UTF-8',
    data: { action },
  });

  it.each([
    ['SDK-HMAC-SHA256', {}],
    ['V11-HMAC-SHA256 (derived key)', { region: 'eu-de', derivedService: 'mrs' }],
  ])('%s: quota, status, switch and their errors', async (_label, extra) => {
    const c = sdkClient({
      endpoint,
      accessKey: t.root.accessKey,
      secretKey: t.root.secretKey,
      projectId: t.projectId,
      ...extra,
    });
    const id = await cluster(tagsN(4));
    expect(await sdkSend(c, quotaCall(id))).toEqual({
      status: 200,
      body: { total_quota: 10, available_quota: 6 },
    });
    expect(await sdkSend(c, quotaCall(id, true))).toEqual({
      status: 200,
      body: { total_quota: 10, available_quota: 6 },
    });
    expect(await sdkSend(c, statusCall(id))).toEqual({
      status: 200,
      body: { status: 'succeed', default_tags_enable: false },
    });
    expect(await sdkSend(c, switchCall(id, 'create'))).toEqual({ status: 202, body: {} });
    expect(await sdkSend(c, statusCall(id))).toEqual({
      status: 200,
      body: { status: 'succeed', default_tags_enable: true },
    });
    expect(await sdkSend(c, switchCall(id, 'delete'))).toEqual({ status: 202, body: {} });
    expect((await sdkSend(c, statusCall(id))).body.default_tags_enable).toBe(false);

    // The SDK reads the error code and message of the v2 envelope.
    const bad = await sdkSend(c, switchCall(id, 'enable'));
    expect(bad).toMatchObject({ status: 400, errorCode: V2_CODE });
    expect(bad.errorMsg).toContain('action');
    const missing = await sdkSend(c, quotaCall('no-such-cluster'));
    expect(missing).toMatchObject({ status: 400, errorCode: V2_CODE });
    expect(missing.errorMsg).toContain("'no-such-cluster'");
  });
});

describe('the switch is state in the store', () => {
  it('visible from another node on the same database, both ways', async () => {
    const second = await createHarness({ databaseUrl: h.databaseUrl, keys: h.keys });
    try {
      const id = await cluster();
      await switched(id, 'create');
      expect(await defaultTagsOn(id, second)).toBe(true);
      await switched(id, 'delete', second);
      expect(await defaultTagsOn(id)).toBe(false);
    } finally {
      await second.close();
    }
  });

  it('goes with the cluster: deregistered and registered again, it is off', async () => {
    const id = await cluster();
    await switched(id, 'create');
    const rid = (await exported(h)).rows('resources').find((r) => r.resource_id === id)!.rid;
    expect((await exported(h)).rows('resource_attributes')).toContainEqual(
      expect.objectContaining({ rid, value: 'on' }),
    );
    const url = `/admin/v1/projects/${t.projectId}/resources/mrs_cluster/${id}`;
    expect((await h.inject({ method: 'DELETE', url, headers: admin })).statusCode).toBe(204);
    expectV2Error(await status(id));
    // Nothing of it is left in the store: an export holds no attribute of its rid.
    const after = (await exported(h)).rows('resource_attributes');
    expect(after.filter((r) => r.rid === rid)).toEqual([]);
    const again = await h.inject({ method: 'PUT', url, headers: admin, payload: '{}' });
    expect(again.statusCode, again.body).toBe(200);
    expect(await defaultTagsOn(id)).toBe(false);
  });

  it('POST /admin/v1/reset empties it', async () => {
    const r = await createHarness();
    try {
      const rt = await r.tenant();
      const id = await rt.resource('mrs_cluster');
      const on = await call(r, rt.root.token, 'POST', `${v2(id, rt.projectId)}/switch`, {
        action: 'create',
      });
      expect(on.statusCode).toBe(202);
      expect((await exported(r)).counts.resource_attributes).toBe(1);
      const reset = await r.inject({ method: 'POST', url: '/admin/v1/reset', headers: admin });
      expect(reset.statusCode).toBe(204);
      expect((await exported(r)).counts.resource_attributes).toBe(0);
      // The same domain, project, user and cluster registered again: the switch is off.
      await r.seed({
        domains: [{ id: rt.domainId, name: rt.domainName }],
        projects: [{ id: rt.projectId, name: rt.projectName, domain_id: rt.domainId }],
        users: [{ id: rt.root.id, name: rt.root.name, domain_id: rt.domainId, root: true }],
        resources: [{ project_id: rt.projectId, type: 'mrs_cluster', id }],
      });
      // The user is a new one: the tokens of the one reset are not its own.
      const now = Date.now();
      const token = await r.token({
        userId: rt.root.id,
        domainId: rt.domainId,
        projectId: rt.projectId,
        issuedAt: now,
        expiresAt: now + TOKEN_LIFETIME_MS,
      });
      const res = await call(r, token, 'GET', `${v2(id, rt.projectId)}/status`);
      expect(json(res)).toEqual({ status: 'succeed', default_tags_enable: false });
    } finally {
      await r.close();
    }
  });

  it('travels with tagplane export and import', async () => {
    const [on, off, never] = await Promise.all([cluster(tagsN(2)), cluster(), cluster()]);
    await switched(on, 'create');
    await switched(off, 'create');
    await switched(off, 'delete');
    const lines: string[] = [];
    await exportDatabase(h.store, async (text) => {
      lines.push(...text.split('\n').filter((l) => l !== ''));
    });
    const attributes = lines.filter((l) => JSON.parse(l).table === 'resource_attributes');
    expect(attributes.length).toBeGreaterThanOrEqual(2);

    const target = await openTestStore();
    try {
      await importDatabase(target.store, toLines(lines));
      const restored = await createHarness({ databaseUrl: target.database.url, keys: h.keys });
      try {
        expect(await defaultTagsOn(on, restored)).toBe(true);
        expect(await defaultTagsOn(off, restored)).toBe(false);
        expect(await defaultTagsOn(never, restored)).toBe(false);
        const q = await quota(on, '', t.root.token, restored);
        expect(json(q)).toEqual({ total_quota: 10, available_quota: 8 });
      } finally {
        await restored.close();
      }
    } finally {
      await target.close();
    }
  });

  it('an export made before default tags were kept (schema 0005) still imports, every switch off', async () => {
    const id = await cluster(tagsN(1));
    await switched(id, 'create');
    const lines: string[] = [];
    await exportDatabase(h.store, async (text) => {
      lines.push(...text.split('\n').filter((l) => l !== ''));
    });
    // The same export as the schema before migration 0006 wrote it: no such tables, no counts,
    // and no column of a later migration (0008's users.token_epoch).
    const header = JSON.parse(lines[0]!) as { schema: string; counts: Record<string, number> };
    header.schema = '0005-identity-notify';
    const later = ['resource_attributes', 'events'];
    for (const table of later) delete header.counts[table];
    const old = [
      JSON.stringify(header),
      ...lines
        .slice(1)
        .map((l) => JSON.parse(l) as { table: string; row: Row })
        .filter((e) => !later.includes(e.table))
        .map(({ table, row: { token_epoch: _, ...row } }) => JSON.stringify({ table, row })),
    ];

    const database = await createTestDatabase();
    const store = Store.open(parseDatabaseUrl(database.url), { poolSize: 2 });
    try {
      await importDatabase(store, toLines(old));
      expect((await store.schemaStatus()).pending).toEqual([]);
    } finally {
      await store.close();
    }
    const restored = await createHarness({ databaseUrl: database.url, keys: h.keys });
    try {
      // A token as the server of then issued it, without a token epoch.
      const now = Date.now();
      const token = await restored.token({
        userId: t.root.id,
        domainId: t.domainId,
        projectId: t.projectId,
        issuedAt: now,
        expiresAt: now + TOKEN_LIFETIME_MS,
      });
      const on = async () => (json(await status(id, token, restored)) as Row).default_tags_enable;
      expect(await on()).toBe(false);
      expect((await switchTo(id, { action: 'create' }, token, restored)).statusCode).toBe(202);
      expect(await on()).toBe(true);
    } finally {
      await restored.close();
      await database.drop();
    }
  });
});

async function* toLines(lines: readonly string[]): AsyncIterable<string> {
  for (const l of lines) yield l;
}

type Row = Record<string, string | number | null>;

/** What `tagplane export` writes of the harness's database: the header's counts, and the rows. */
async function exported(
  of: Harness,
): Promise<{ counts: Record<string, number>; rows: (table: string) => Row[] }> {
  const lines: string[] = [];
  const header = await exportDatabase(of.store, async (text) => {
    lines.push(...text.split('\n').filter((l) => l !== ''));
  });
  const entries = lines.slice(1).map((l) => JSON.parse(l) as { table: string; row: Row });
  return {
    counts: header.counts,
    rows: (table) => entries.filter((e) => e.table === table).map((e) => e.row),
  };
}

describe('OpenAPI document', () => {
  type Operation = {
    operationId: string;
    summary: string;
    description: string;
    parameters?: { name: string; in: string; schema: { type: string } }[];
    requestBody?: { content: Record<string, { schema: unknown }> };
    responses: Record<string, { description: string }>;
    'x-iam-actions': { action: string; requires: string[] }[];
  };
  let paths: Record<string, Record<string, Operation>>;
  beforeAll(async () => {
    const res = await h.inject({ method: 'GET', url: '/openapi.json' });
    paths = (json(res) as { paths: typeof paths }).paths;
  });
  const op = (method: string, tail: string) =>
    paths[`/v2/{project_id}/clusters/{cluster_id}/tags/${tail}`]![method]!;

  it.each([
    ['get', 'quota', 'ShowTagQuota', 'mrs:tag:list', '200'],
    ['get', 'status', 'ShowTagStatus', 'mrs:tag:list', '200'],
    ['post', 'switch', 'SwitchClusterTags', 'mrs:tag:batchOperate', '202'],
  ])(
    '%s …/%s: %s, its action, its success and the v2 error code',
    (method, tail, id, action, ok) => {
      const o = op(method, tail);
      expect(o.operationId).toBe(id);
      expect(o.summary).toEqual(expect.any(String));
      expect(o.description).toContain('MapReduce Service');
      expect(o['x-iam-actions']).toEqual([{ action, requires: [] }]);
      expect(o.responses[ok]).toBeDefined();
      expect(o.responses['400']!.description).toContain(V2_CODE);
      expect(o.responses['401']!.description).toContain('APIG.0301');
      // The v1.1 tag-rule codes are not answered here.
      expect(JSON.stringify(o.responses)).not.toContain('12005001');
    },
  );

  it('the quota takes auto_scaling_policy_tags, a boolean; the switch a body with action', () => {
    expect(op('get', 'quota').parameters).toContainEqual(
      expect.objectContaining({
        name: 'auto_scaling_policy_tags',
        in: 'query',
        schema: expect.objectContaining({ type: 'boolean' }),
      }),
    );
    expect(
      JSON.stringify(op('post', 'switch').requestBody!.content['application/json']!.schema),
    ).toContain('"create"');
  });
});
