import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectGatewayError } from '../support/envelopes.js';
import { createHarness, type Harness, type Tenant } from '../support/harness.js';
import { signed } from '../support/signing.js';

const IAM_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const DAY_MS = 24 * 60 * 60 * 1000;

let h: Harness;
let t: Tenant;
/** Another domain, with a project of the same name as t's. */
let other: Tenant;

beforeAll(async () => {
  h = await createHarness();
  [t, other] = await Promise.all([h.tenant(), h.tenant()]);
});
afterAll(() => h.close());

type User = Record<string, unknown>;
type Scope = Record<string, unknown> | undefined;

function tokenRequest(user: User, scope: Scope, contentType = 'application/json') {
  return h.inject({
    method: 'POST',
    url: '/v3/auth/tokens',
    headers: { 'content-type': contentType },
    payload: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user } },
        ...(scope ? { scope } : {}),
      },
    }),
  });
}

const byName = (x: Tenant, who: 'root' | 'iamUser' = 'root'): User => ({
  name: x[who].name,
  password: x[who].password,
  domain: { name: x.domainName },
});

function expectKeystoneError(res: LightMyRequestResponse, status: number, title: string) {
  expect(res.statusCode, res.body).toBe(status);
  const body = JSON.parse(res.body) as { error: Record<string, unknown> };
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'title']);
  expect(body.error.code).toBe(status);
  expect(body.error.title).toBe(title);
  expect(body.error.message).toEqual(expect.any(String));
  return body.error;
}

/** Checks the token description against IAM's documented shape; returns it. */
function expectTokenBody(
  res: LightMyRequestResponse,
  x: Tenant,
  who: 'root' | 'iamUser',
  scope: 'project' | 'domain',
) {
  const { token } = JSON.parse(res.body) as { token: Record<string, unknown> };
  const domainRef = { id: x.domainId, name: x.domainName };
  expect(Object.keys(token).sort()).toEqual(
    ['catalog', 'expires_at', 'issued_at', 'methods', 'roles', 'user', scope].sort(),
  );
  expect(token.methods).toEqual(['password']);
  expect(token.catalog).toEqual([]);
  expect(token.user).toEqual({
    domain: domainRef,
    id: x[who].id,
    name: x[who].name,
    password_expires_at: '',
  });
  if (scope === 'project') {
    expect(token.project).toEqual({ domain: domainRef, id: x.projectId, name: x.projectName });
  } else {
    expect(token.domain).toEqual(domainRef);
  }
  expect(token.issued_at).toMatch(IAM_TIME);
  expect(token.expires_at).toMatch(IAM_TIME);
  const issued = Date.parse(token.issued_at as string);
  expect(Math.abs(issued - Date.now())).toBeLessThan(60_000);
  expect(Date.parse(token.expires_at as string) - issued).toBe(DAY_MS);
  expect(token.roles).toEqual(expect.any(Array));
  for (const role of token.roles as unknown[]) {
    expect(role).toEqual({ id: expect.any(String), name: expect.any(String) });
  }
  return token;
}

function subjectToken(res: LightMyRequestResponse): string {
  const token = res.headers['x-subject-token'];
  expect(token).toEqual(expect.any(String));
  return token as string;
}

/** The token lists the tenant's BMS tags: it works on the tag routes. */
async function expectWorksOnTagRoutes(token: string, x: Tenant = t) {
  const id = await x.resource('bms_server', [{ key: 'env', value: 'prod' }]);
  const res = await h.inject({
    method: 'GET',
    url: `/v1/${x.projectId}/baremetalservers/${id}/tags`,
    headers: { 'x-auth-token': token },
  });
  expect(res.statusCode, res.body).toBe(200);
  expect(JSON.parse(res.body)).toEqual({ tags: [{ key: 'env', value: 'prod' }] });
}

describe('POST /v3/auth/tokens', () => {
  it('user by name and domain name, project by id: 201, X-Subject-Token and the token body', async () => {
    const res = await tokenRequest(byName(t), { project: { id: t.projectId } });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expectTokenBody(res, t, 'root', 'project');
    await expectWorksOnTagRoutes(subjectToken(res));
  });

  it('the content type of the Huawei documentation (application/json;charset=utf8) is accepted', async () => {
    const res = await tokenRequest(
      byName(t),
      { project: { name: t.projectName } },
      'application/json;charset=utf8',
    );
    expect(res.statusCode, res.body).toBe(201);
  });

  it('?nocatalog=true is accepted', async () => {
    const res = await h.inject({
      method: 'POST',
      url: '/v3/auth/tokens?nocatalog=true',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({
        auth: {
          identity: { methods: ['password'], password: { user: byName(t) } },
          scope: { project: { id: t.projectId } },
        },
      }),
    });
    expect(res.statusCode, res.body).toBe(201);
    expectTokenBody(res, t, 'root', 'project');
  });

  it('user by name and domain id', async () => {
    const res = await tokenRequest(
      { name: t.root.name, password: t.root.password, domain: { id: t.domainId } },
      { project: { id: t.projectId } },
    );
    expect(res.statusCode, res.body).toBe(201);
    expectTokenBody(res, t, 'root', 'project');
  });

  it('user by id', async () => {
    const res = await tokenRequest(
      { id: t.root.id, password: t.root.password },
      { project: { id: t.projectId } },
    );
    expect(res.statusCode, res.body).toBe(201);
    expectTokenBody(res, t, 'root', 'project');
    await expectWorksOnTagRoutes(subjectToken(res));
  });

  it("project by name alone: the user's own domain's project, though another domain has one of that name", async () => {
    expect(other.projectName).toBe(t.projectName);
    for (const x of [t, other]) {
      const res = await tokenRequest(byName(x), { project: { name: x.projectName } });
      expect(res.statusCode, res.body).toBe(201);
      expectTokenBody(res, x, 'root', 'project');
      await expectWorksOnTagRoutes(subjectToken(res), x);
    }
  });

  it('project by name with its domain (name or id)', async () => {
    for (const domain of [{ name: t.domainName }, { id: t.domainId }]) {
      const res = await tokenRequest(byName(t), { project: { name: t.projectName, domain } });
      expect(res.statusCode, res.body).toBe(201);
      expectTokenBody(res, t, 'root', 'project');
    }
  });

  it('domain scope by name or id: a domain token, refused on the project tag routes', async () => {
    for (const domain of [{ name: t.domainName }, { id: t.domainId }]) {
      const res = await tokenRequest(byName(t), { domain });
      expect(res.statusCode, res.body).toBe(201);
      expectTokenBody(res, t, 'root', 'domain');
      const id = await t.resource('bms_server');
      const list = await h.inject({
        method: 'GET',
        url: `/v1/${t.projectId}/baremetalservers/${id}/tags`,
        headers: { 'x-auth-token': subjectToken(res) },
      });
      expect(list.statusCode).toBe(403);
    }
  });

  it('an IAM user gets a token too, without the admin role', async () => {
    const res = await tokenRequest(byName(t, 'iamUser'), { project: { id: t.projectId } });
    expect(res.statusCode, res.body).toBe(201);
    const token = expectTokenBody(res, t, 'iamUser', 'project');
    expect(token.roles).toEqual([]);
  });

  it('two tokens issued for the same request are both valid', async () => {
    const a = subjectToken(await tokenRequest(byName(t), { project: { id: t.projectId } }));
    const b = subjectToken(await tokenRequest(byName(t), { project: { id: t.projectId } }));
    await expectWorksOnTagRoutes(a);
    await expectWorksOnTagRoutes(b);
  });

  describe('wrong credentials: 401 in the Keystone envelope, the same answer whatever is wrong', () => {
    const cases: [string, () => User][] = [
      ['wrong password', () => ({ ...byName(t), password: `${t.root.password}x` })],
      ['empty password', () => ({ ...byName(t), password: '' })],
      ["another user's password", () => ({ ...byName(t), password: t.iamUser.password })],
      ['unknown user name', () => ({ ...byName(t), name: 'nobody' })],
      ['unknown domain name', () => ({ ...byName(t), domain: { name: 'no-such-domain' } })],
      ['unknown domain id', () => ({ ...byName(t), domain: { id: 'no-such-domain' } })],
      ['user of another domain', () => ({ ...byName(other), domain: { name: t.domainName } })],
      ['unknown user id', () => ({ id: 'u-nobody', password: t.root.password })],
    ];
    it.each(cases)('%s', async (_, user) => {
      const res = await tokenRequest(user(), { project: { id: t.projectId } });
      const error = expectKeystoneError(res, 401, 'Unauthorized');
      expect(error.message).toBe('The username or password is wrong.');
      expect(res.headers['x-subject-token']).toBeUndefined();
    });
  });

  it('an unknown user takes about as long as a wrong password: the time tells no user names', async () => {
    const x = await h.tenant();
    const wrongPassword = { ...byName(x), password: 'nope' };
    // Unknown by name, by id, or through an unknown domain: each is hashed like a known user.
    const unknownUsers: User[] = [
      { ...byName(x), name: 'nobody' },
      { id: `u-nobody-${x.domainId}`, password: 'nope' },
      { ...byName(x), domain: { name: `no-domain-${x.domainId}` } },
    ];
    const timed = async (user: User) => {
      const started = performance.now();
      const res = await tokenRequest(user, undefined);
      const ms = performance.now() - started;
      expect(JSON.parse(res.body)).toEqual({
        error: { code: 401, message: 'The username or password is wrong.', title: 'Unauthorized' },
      });
      return ms;
    };
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 1; i <= 12; i++) {
      // Interleaved, so that a busy moment of the machine weighs on both alike.
      known.push(await timed(wrongPassword));
      unknown.push(await timed(unknownUsers[i % unknownUsers.length]!));
      // A good login now and then keeps the user short of its lockout.
      if (i % 4 === 0) expect((await tokenRequest(byName(x), undefined)).statusCode).toBe(201);
    }
    // Hashing takes tens of milliseconds; skipping it for unknown users would take ~1 ms, a
    // ratio near 0.03: the bound (between 0.5 and 2) leaves room for a busy machine only.
    const ratio = median(unknown) / median(known);
    expect(ratio, `medians ${median(unknown)} vs ${median(known)} ms`).toBeGreaterThan(0.5);
    expect(ratio, `medians ${median(unknown)} vs ${median(known)} ms`).toBeLessThan(2);
  });

  it("a scope the user cannot access (another domain's project or domain): 401", async () => {
    for (const scope of [
      { project: { id: other.projectId } },
      { project: { name: other.projectName, domain: { id: other.domainId } } },
      { project: { id: 'no-such-project' } },
      { domain: { id: other.domainId } },
      { domain: { name: other.domainName } },
    ]) {
      const res = await tokenRequest(byName(t), scope);
      expectKeystoneError(res, 401, 'Unauthorized');
      expect(res.headers['x-subject-token']).toBeUndefined();
    }
  });

  describe('a malformed request: 400 in the Keystone envelope', () => {
    const valid = () => ({
      auth: {
        identity: { methods: ['password'], password: { user: byName(t) } },
        scope: { project: { id: t.projectId } },
      },
    });
    const cases: [string, () => string][] = [
      ['not JSON', () => '{"auth":'],
      ['empty body', () => ''],
      ['a JSON array', () => '[]'],
      ['no auth', () => '{}'],
      ['no identity', () => JSON.stringify({ auth: {} })],
      [
        'no methods',
        () => {
          const b = valid();
          delete (b.auth.identity as Partial<typeof b.auth.identity>).methods;
          return JSON.stringify(b);
        },
      ],
      [
        'methods without password',
        () => {
          const b = valid();
          b.auth.identity.methods = ['token'];
          return JSON.stringify(b);
        },
      ],
      [
        'no user',
        () => JSON.stringify({ auth: { identity: { methods: ['password'], password: {} } } }),
      ],
      [
        'password not a string',
        () => {
          const b = valid();
          (b.auth.identity.password.user as User).password = 123;
          return JSON.stringify(b);
        },
      ],
      [
        'user name without a domain',
        () => {
          const b = valid();
          delete (b.auth.identity.password.user as User).domain;
          return JSON.stringify(b);
        },
      ],
      [
        'scope project without id or name',
        () => {
          const b = valid();
          (b.auth as Record<string, unknown>).scope = { project: {} };
          return JSON.stringify(b);
        },
      ],
    ];
    it.each(cases)('%s', async (_, payload) => {
      const res = await h.inject({
        method: 'POST',
        url: '/v3/auth/tokens',
        headers: { 'content-type': 'application/json' },
        payload: payload(),
      });
      expectKeystoneError(res, 400, 'Bad Request');
      expect(res.headers['x-subject-token']).toBeUndefined();
    });
  });
});

describe('GET and HEAD /v3/auth/tokens', () => {
  async function issue(scope: Scope = { project: { id: t.projectId } }) {
    return subjectToken(await tokenRequest(byName(t), scope));
  }

  it('GET with a valid subject token: 200, X-Subject-Token and the token body', async () => {
    const caller = await issue();
    for (const [subject, scope] of [
      [caller, 'project'],
      [await issue({ domain: { id: t.domainId } }), 'domain'],
    ] as const) {
      const res = await h.inject({
        method: 'GET',
        url: '/v3/auth/tokens',
        headers: { 'x-auth-token': caller, 'x-subject-token': subject },
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers['x-subject-token']).toBe(subject);
      expectTokenBody(res, t, 'root', scope);
    }
  });

  it('GET describes the token as it was issued', async () => {
    const post = await tokenRequest(byName(t), { project: { id: t.projectId } });
    const subject = subjectToken(post);
    const res = await h.inject({
      method: 'GET',
      url: '/v3/auth/tokens',
      headers: { 'x-auth-token': subject, 'x-subject-token': subject },
    });
    expect(JSON.parse(res.body)).toEqual(JSON.parse(post.body));
  });

  it('GET signed with an access key (as the SDKs call it) works', async () => {
    const subject = await issue();
    const res = await h.inject(
      signed(
        {
          method: 'GET',
          url: '/v3/auth/tokens',
          headers: { 'content-type': 'application/json', 'x-subject-token': subject },
        },
        t.iamUser,
      ),
    );
    expect(res.statusCode, res.body).toBe(200);
    expectTokenBody(res, t, 'root', 'project');
  });

  it('GET with an invalid, expired or missing subject token: 404 with the Keystone body', async () => {
    const caller = await issue();
    const now = Date.now();
    const expired = await h.token({
      userId: t.root.id,
      domainId: t.domainId,
      projectId: t.projectId,
      issuedAt: now - 2 * DAY_MS,
      expiresAt: now - DAY_MS,
    });
    for (const subject of ['garbage', expired, `${caller}x`, undefined]) {
      const res = await h.inject({
        method: 'GET',
        url: '/v3/auth/tokens',
        headers: { 'x-auth-token': caller, ...(subject ? { 'x-subject-token': subject } : {}) },
      });
      expect(JSON.parse(res.body)).toEqual({
        error: {
          code: 404,
          message: 'X-Subject-Token is invalid in the request',
          title: 'Not Found',
        },
      });
      expect(res.statusCode).toBe(404);
    }
  });

  it('GET without credentials of the caller: 401 in the gateway envelope', async () => {
    const subject = await issue();
    const res = await h.inject({
      method: 'GET',
      url: '/v3/auth/tokens',
      headers: { 'x-subject-token': subject },
    });
    expectGatewayError(res, 401, 'APIG.0301');
    const bad = await h.inject({
      method: 'GET',
      url: '/v3/auth/tokens',
      headers: { 'x-auth-token': 'garbage', 'x-subject-token': subject },
    });
    expectGatewayError(bad, 401, 'APIG.0301');
  });

  it('HEAD: 200 without a body for a valid token, 404 for an invalid one', async () => {
    const caller = await issue();
    const ok = await h.inject({
      method: 'HEAD',
      url: '/v3/auth/tokens',
      headers: { 'x-auth-token': caller, 'x-subject-token': caller },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toBe('');
    const bad = await h.inject({
      method: 'HEAD',
      url: '/v3/auth/tokens',
      headers: { 'x-auth-token': caller, 'x-subject-token': 'garbage' },
    });
    expect(bad.statusCode).toBe(404);
    expect(bad.body).toBe('');
  });
});

describe('GET /v3/projects', () => {
  type ProjectList = {
    links: Record<string, unknown>;
    projects: Record<string, unknown>[];
  };

  async function list(headers: Record<string, string>, query = '') {
    const res = await h.inject({ method: 'GET', url: `/v3/projects${query}`, headers });
    expect(res.statusCode, res.body).toBe(200);
    return JSON.parse(res.body) as ProjectList;
  }

  it("?name= finds the caller's project only, in IAM's shape", async () => {
    const body = await list({ 'x-auth-token': t.root.domainToken }, `?name=${t.projectName}`);
    expect(Object.keys(body).sort()).toEqual(['links', 'projects']);
    expect(body.links).toEqual({
      self: expect.stringMatching(/\/v3\/projects\?name=eu-de$/),
      previous: null,
      next: null,
    });
    expect(body.projects).toEqual([
      {
        is_domain: false,
        description: '',
        links: { self: expect.stringMatching(new RegExp(`/v3/projects/${t.projectId}$`)) },
        enabled: true,
        id: t.projectId,
        parent_id: t.domainId,
        domain_id: t.domainId,
        name: t.projectName,
      },
    ]);
  });

  it('works with a domain token, a project token and a signed request (SDK project-id discovery)', async () => {
    const ids = (b: ProjectList) => b.projects.map((p) => p.id);
    expect(ids(await list({ 'x-auth-token': t.root.domainToken }, '?name=eu-de'))).toEqual([
      t.projectId,
    ]);
    expect(ids(await list({ 'x-auth-token': t.iamUser.token }, '?name=eu-de'))).toEqual([
      t.projectId,
    ]);
    const req = signed(
      {
        method: 'GET',
        url: '/v3/projects?name=eu-de',
        headers: { 'content-type': 'application/json' },
      },
      other.root,
    );
    const res = await h.inject(req);
    expect(res.statusCode, res.body).toBe(200);
    expect(ids(JSON.parse(res.body) as ProjectList)).toEqual([other.projectId]);
  });

  it('without a name, lists every project of the domain and none of another', async () => {
    const extra = `${t.projectId}-x`;
    await h.seed({ projects: [{ id: extra, name: 'eu-nl', domain_id: t.domainId }] });
    const body = await list({ 'x-auth-token': t.root.domainToken });
    expect(body.projects.map((p) => p.id).sort()).toEqual([t.projectId, extra].sort());
    const named = await list({ 'x-auth-token': t.root.domainToken }, '?name=eu-nl');
    expect(named.projects.map((p) => p.id)).toEqual([extra]);
  });

  it('an unknown name gives an empty list', async () => {
    const body = await list({ 'x-auth-token': t.root.domainToken }, '?name=ap-nowhere-9');
    expect(body.projects).toEqual([]);
  });

  it('a name given twice: 400 in the Keystone envelope', async () => {
    const res = await h.inject({
      method: 'GET',
      url: '/v3/projects?name=eu-de&name=eu-nl',
      headers: { 'x-auth-token': t.root.domainToken },
    });
    expectKeystoneError(res, 400, 'Bad Request');
  });

  it('without credentials: 401 in the gateway envelope', async () => {
    const res = await h.inject({ method: 'GET', url: '/v3/projects?name=eu-de' });
    expectGatewayError(res, 401, 'APIG.0301');
  });
});

describe('GET /v3/regions', () => {
  type RegionList = { regions: Record<string, unknown>[]; links: Record<string, unknown> };

  it("lists each region of the caller's projects once, in IAM's shape (R and R_suffix are in R)", async () => {
    const x = await h.tenant();
    await h.seed({
      projects: [
        { id: `${x.projectId}-sub`, name: 'eu-de_analytics', domain_id: x.domainId },
        { id: `${x.projectId}-nl`, name: 'eu-nl', domain_id: x.domainId },
        { id: `${x.projectId}-nl2`, name: 'eu-nl_a_b', domain_id: x.domainId },
      ],
    });
    // Another domain's regions are not the caller's.
    await h.seed({
      projects: [
        { id: `${other.projectId}-ap`, name: 'ap-southeast-1', domain_id: other.domainId },
      ],
    });
    const res = await h.inject({
      method: 'GET',
      url: '/v3/regions',
      headers: { 'x-auth-token': x.root.domainToken },
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = JSON.parse(res.body) as RegionList;
    expect(Object.keys(body)).toEqual(['regions', 'links']);
    expect(body.links).toEqual({
      self: expect.stringMatching(/^http:\/\/[^/]+\/v3\/regions$/),
      previous: null,
      next: null,
    });
    expect(body.regions).toEqual(
      ['eu-de', 'eu-nl'].map((id) => ({
        parent_region_id: null,
        description: '',
        links: { self: expect.stringMatching(new RegExp(`^http://[^/]+/v3/regions/${id}$`)) },
        type: 'public',
        id,
        locales: { 'en-us': id },
      })),
    );
  });

  it('any token of the domain or a signed request may call it (IAM requires no permission)', async () => {
    const ids = (res: LightMyRequestResponse) => {
      expect(res.statusCode, res.body).toBe(200);
      return (JSON.parse(res.body) as RegionList).regions.map((r) => r.id);
    };
    for (const token of [t.iamUser.token, t.iamUser.domainToken]) {
      expect(
        ids(
          await h.inject({ method: 'GET', url: '/v3/regions', headers: { 'x-auth-token': token } }),
        ),
      ).toContain('eu-de');
    }
    const req = signed(
      { method: 'GET', url: '/v3/regions', headers: { 'content-type': 'application/json' } },
      t.iamUser,
    );
    expect(ids(await h.inject(req))).toContain('eu-de');
  });

  it('without credentials: 401 in the gateway envelope', async () => {
    expectGatewayError(await h.inject({ method: 'GET', url: '/v3/regions' }), 401, 'APIG.0301');
  });

  it('is in the OpenAPI document as KeystoneListRegions, beside the lockouts of the token route', async () => {
    const doc = JSON.parse((await h.inject({ method: 'GET', url: '/openapi.json' })).body) as {
      info: { description: string };
      paths: Record<string, Record<string, Record<string, unknown>>>;
    };
    const op = doc.paths['/v3/regions']?.get;
    expect(op?.operationId).toBe('KeystoneListRegions');
    expect(Object.keys(op?.responses as object).sort()).toEqual(['200', '401']);
    expect(doc.paths['/v3/auth/tokens']?.post?.description).toMatch(/The account is locked\./);
    expect(doc.info.description).toMatch(/AK access failed to reach the limit,forbidden\./);
  });
});

describe('GET /v3/auth/domains', () => {
  it("lists the caller's own domain, in IAM's shape", async () => {
    for (const headers of [
      { 'x-auth-token': t.iamUser.domainToken },
      { 'x-auth-token': t.root.token },
    ]) {
      const res = await h.inject({ method: 'GET', url: '/v3/auth/domains', headers });
      expect(res.statusCode, res.body).toBe(200);
      expect(JSON.parse(res.body)).toEqual({
        domains: [
          {
            description: '',
            enabled: true,
            id: t.domainId,
            links: { self: expect.stringMatching(new RegExp(`/v3/domains/${t.domainId}$`)) },
            name: t.domainName,
          },
        ],
        links: { self: expect.stringMatching(/\/v3\/auth\/domains$/) },
      });
    }
  });

  it('works for a signed request (SDK domain-id discovery)', async () => {
    const res = await h.inject(
      signed(
        { method: 'GET', url: '/v3/auth/domains', headers: { 'content-type': 'application/json' } },
        other.root,
      ),
    );
    expect(res.statusCode, res.body).toBe(200);
    const body = JSON.parse(res.body) as { domains: { id: string }[] };
    expect(body.domains.map((d) => d.id)).toEqual([other.domainId]);
  });

  it('without credentials: 401 in the gateway envelope', async () => {
    expectGatewayError(
      await h.inject({ method: 'GET', url: '/v3/auth/domains' }),
      401,
      'APIG.0301',
    );
  });
});
