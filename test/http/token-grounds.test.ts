import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectGatewayError } from '../support/envelopes.js';
import { ADMIN_TOKEN, createHarness, type Harness, type Tenant } from '../support/harness.js';
import { signed } from '../support/signing.js';

/**
 * Tokens end when their grounds end: a deleted user's, a changed password's, a revoked one — at
 * once, on this node and on a second node of the same database.
 */
let h: Harness;
/** A second node: its own app and store connections over h's database, with h's keys. */
let node2: Harness;
let t: Tenant;
let other: Tenant;

beforeAll(async () => {
  h = await createHarness();
  node2 = await createHarness({ databaseUrl: h.databaseUrl, keys: h.keys });
  [t, other] = await Promise.all([h.tenant(), h.tenant()]);
});
afterAll(async () => {
  await node2.close();
  await h.close();
});

const admin = (method: 'PUT' | 'DELETE' | 'POST', url: string, body?: unknown) =>
  h.inject({
    method,
    url,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
  });

async function login(x: Tenant, name: string, password: string): Promise<string> {
  const res = await h.inject({
    method: 'POST',
    url: '/v3/auth/tokens',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name, password, domain: { id: x.domainId } } },
        },
        scope: { project: { id: x.projectId } },
      },
    }),
  });
  expect(res.statusCode, res.body).toBe(201);
  return String(res.headers['x-subject-token']);
}

/**
 * A tag listing in the tenant's project with a token, on a node: a supernode's, which any user of
 * the domain may list whatever its policies (ModelArts asks no permission for it).
 */
function listWith(node: Harness, x: Tenant, token: string, supernode: string) {
  return node.inject({
    method: 'GET',
    url: `/v1/${x.projectId}/dev-servers/hyperinstance/${supernode}/tags`,
    headers: { 'x-auth-token': token },
  });
}

/**
 * Expects the token to work (200) or not (401 APIG.0301) on both nodes: on the node that made the
 * change at once, on the other as soon as it sees the change (SQLite: within its 10 ms poll;
 * PostgreSQL: by notification, within milliseconds).
 */
async function expectToken(x: Tenant, token: string, works: boolean) {
  const supernode = await x.resource('modelarts_hyperinstance');
  for (const node of [h, node2]) {
    if (node === node2) await new Promise((r) => setTimeout(r, 50));
    const res = await listWith(node, x, token, supernode);
    if (works) expect(res.statusCode, res.body).toBe(200);
    else expectGatewayError(res, 401, 'APIG.0301');
  }
}

function introspect(
  node: Harness,
  caller: string,
  subject: string,
  method: 'GET' | 'HEAD' = 'GET',
) {
  return node.inject({
    method,
    url: '/v3/auth/tokens',
    headers: { 'x-auth-token': caller, 'x-subject-token': subject },
  });
}

function revoke(caller: Record<string, string>, subject?: string) {
  return h.inject({
    method: 'DELETE',
    url: '/v3/auth/tokens',
    headers: { ...caller, ...(subject !== undefined ? { 'x-subject-token': subject } : {}) },
  });
}

function expectKeystone(res: LightMyRequestResponse, status: number) {
  expect(res.statusCode, res.body).toBe(status);
  expect((JSON.parse(res.body) as { error: { code: number } }).error.code).toBe(status);
}

describe('a deleted user', () => {
  it('its tokens stay dead when a user with the same id is created again, even as root', async () => {
    const id = `u-again-${t.projectId}`;
    const user = (password: string, root: boolean) => ({
      users: [{ id, name: 'again', domain_id: t.domainId, root, password }],
    });
    await h.seed(user('first-password', false));
    const old = await login(t, 'again', 'first-password');
    await expectToken(t, old, true);

    expect((await admin('DELETE', `/admin/v1/users/${id}`)).statusCode).toBe(204);
    await expectToken(t, old, false);

    // The same seed again, now as root, with the same password: a new user, not the old one.
    await h.seed(user('first-password', true));
    await expectToken(t, old, false);
    expectKeystone(await introspect(h, t.root.token, old), 404);
    // The new user's own tokens work.
    await expectToken(t, await login(t, 'again', 'first-password'), true);
  });
});

describe('a password change', () => {
  it('through the admin API ends every token of the user at once, on every node', async () => {
    const x = await h.tenant();
    const first = await login(x, x.iamUser.name, x.iamUser.password);
    const second = await login(x, x.iamUser.name, x.iamUser.password);
    await expectToken(x, first, true);
    const res = await admin('PUT', `/admin/v1/users/${x.iamUser.id}/password`, {
      password: 'a-new-password',
    });
    expect(res.statusCode, res.body).toBe(204);
    await expectToken(x, first, false);
    await expectToken(x, second, false);
    // Other users' tokens are untouched; the new password's tokens work.
    await expectToken(x, x.root.token, true);
    await expectToken(x, await login(x, x.iamUser.name, 'a-new-password'), true);
  });

  it('through a seed ends them too; a seed repeating the same password keeps them', async () => {
    const x = await h.tenant();
    const token = await login(x, x.iamUser.name, x.iamUser.password);
    const again = (password: string) =>
      h.seed({
        users: [{ id: x.iamUser.id, name: x.iamUser.name, domain_id: x.domainId, password }],
      });
    await again(x.iamUser.password);
    await expectToken(x, token, true);
    await again('changed-by-seed');
    await expectToken(x, token, false);
  });
});

describe('DELETE /v3/auth/tokens', () => {
  it('revokes the subject token at once, on every node: 204, then 401 and 404', async () => {
    const x = await h.tenant();
    const token = await login(x, x.iamUser.name, x.iamUser.password);
    const res = await revoke({ 'x-auth-token': token }, token);
    expect(res.statusCode, res.body).toBe(204);
    expect(res.body).toBe('');
    await expectToken(x, token, false);
    for (const node of [h, node2]) expectKeystone(await introspect(node, x.root.token, token), 404);
    // Only that token: the user's other tokens and its login still work.
    await expectToken(x, x.iamUser.token, true);
    await expectToken(x, await login(x, x.iamUser.name, x.iamUser.password), true);
  });

  it("a user may revoke its own tokens; another user's only as the domain's root", async () => {
    const x = await h.tenant();
    const rootToken = await login(x, x.root.name, x.root.password);
    expectKeystone(await revoke({ 'x-auth-token': x.iamUser.token }, rootToken), 403);
    await expectToken(x, rootToken, true);

    const devToken = await login(x, x.iamUser.name, x.iamUser.password);
    const byRoot = await h.inject(
      signed(
        {
          method: 'DELETE',
          url: '/v3/auth/tokens',
          headers: { 'content-type': 'application/json', 'x-subject-token': devToken },
        },
        x.root,
      ),
    );
    expect(byRoot.statusCode, byRoot.body).toBe(204);
    await expectToken(x, devToken, false);
  });

  it("another domain's token, or one that is not a token: 404, and nothing changes", async () => {
    const theirs = await login(other, other.root.name, other.root.password);
    expectKeystone(await revoke({ 'x-auth-token': t.root.token }, theirs), 404);
    await expectToken(other, theirs, true);
    for (const subject of ['garbage', `${t.root.token}x`, '']) {
      expectKeystone(await revoke({ 'x-auth-token': t.root.token }, subject), 404);
    }
    expectKeystone(await revoke({ 'x-auth-token': t.root.token }), 404);
    await expectToken(t, t.root.token, true);
  });

  it('without credentials of the caller: 401 in the gateway envelope', async () => {
    const token = await login(t, t.iamUser.name, t.iamUser.password);
    expectGatewayError(await revoke({}, token), 401, 'APIG.0301');
    expectGatewayError(await revoke({ 'x-auth-token': 'garbage' }, token), 401, 'APIG.0301');
    await expectToken(t, token, true);
  });

  it('is in the OpenAPI document as KeystoneRevokeToken', async () => {
    const doc = JSON.parse((await h.inject({ method: 'GET', url: '/openapi.json' })).body) as {
      paths: Record<string, Record<string, { operationId?: string }>>;
    };
    expect(doc.paths['/v3/auth/tokens']?.delete?.operationId).toBe('KeystoneRevokeToken');
  });
});

describe('GET and HEAD /v3/auth/tokens across domains', () => {
  it('a subject token of another domain: 404, as for a token that does not exist', async () => {
    const theirs = await login(other, other.root.name, other.root.password);
    for (const caller of [t.root.token, t.root.domainToken]) {
      expectKeystone(await introspect(h, caller, theirs), 404);
      const head = await introspect(h, caller, theirs, 'HEAD');
      expect(head.statusCode).toBe(404);
      expect(head.body).toBe('');
    }
    const signedCaller = await h.inject(
      signed(
        {
          method: 'GET',
          url: '/v3/auth/tokens',
          headers: { 'content-type': 'application/json', 'x-subject-token': theirs },
        },
        t.iamUser,
      ),
    );
    expectKeystone(signedCaller, 404);
    // Its own domain still sees it.
    expect((await introspect(h, other.iamUser.token, theirs)).statusCode).toBe(200);
  });
});
