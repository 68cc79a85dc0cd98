import { randomBytes, randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectGatewayError } from '../support/envelopes.js';
import { ADMIN_TOKEN, createHarness, type Harness, json } from '../support/harness.js';

let h: Harness;

beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const uid = () => randomBytes(5).toString('hex');

type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';
const call = (method: Method, url: string, body?: unknown) =>
  h.inject({
    method,
    url,
    headers: { ...admin, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined
      ? { payload: typeof body === 'string' ? body : JSON.stringify(body) }
      : {}),
  });

/** A 4xx of the admin API: `{"error_code","error_msg","request_id"}`; returns the message. */
function expectAdminError(res: LightMyRequestResponse, status: number): string {
  expect(res.statusCode, res.body).toBe(status);
  const body = JSON.parse(res.body) as Record<string, string>;
  expect(Object.keys(body).sort()).toEqual(['error_code', 'error_msg', 'request_id']);
  expect(body.error_code).toBe(`ADMIN.0${status}`);
  return body.error_msg!;
}

type Domain = { id: string; name: string };
type Project = { id: string; name: string; domain_id: string };

const domains = async () =>
  (json(await call('GET', '/admin/v1/domains')) as { domains: Domain[] }).domains;
const projects = async (query = '') =>
  (json(await call('GET', `/admin/v1/projects${query}`)) as { projects: Project[] }).projects;

/** A password token scoped to a project by name, as SDKs ask for one; null when refused. */
async function projectToken(
  domainName: string,
  user: string,
  password: string,
  projectName: string,
): Promise<string | null> {
  const res = await h.inject({
    method: 'POST',
    url: '/v3/auth/tokens',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: user, password, domain: { name: domainName } } },
        },
        scope: { project: { name: projectName, domain: { name: domainName } } },
      },
    }),
  });
  return res.statusCode === 201 ? String(res.headers['x-subject-token']) : null;
}

const listTagsRequest = (projectId: string, serverId: string, token: string) => ({
  method: 'GET' as const,
  url: `/v1/${projectId}/baremetalservers/${serverId}/tags`,
  headers: { 'x-auth-token': token },
});

const listTags = (projectId: string, serverId: string, token: string) =>
  h.inject(listTagsRequest(projectId, serverId, token));

describe('admin authentication', () => {
  const routes: [Method, string, unknown?][] = [
    ['GET', '/admin/v1/domains'],
    ['PUT', '/admin/v1/domains/d-x', { name: 'x' }],
    ['DELETE', '/admin/v1/domains/d-x'],
    ['GET', '/admin/v1/projects'],
    ['PUT', '/admin/v1/projects/p-x', { name: 'x', domain_id: 'd-x' }],
    ['DELETE', '/admin/v1/projects/p-x'],
    ['POST', '/admin/v1/projects/p-x/reset'],
  ];
  it.each(routes)('%s %s: 401 without the admin token', async (method, url, body) => {
    const t = await h.tenant();
    const res = await h.inject({
      method,
      url,
      headers: { 'x-auth-token': t.root.token, 'content-type': 'application/json' },
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    });
    expectGatewayError(res, 401, 'APIG.0301');
  });
});

describe('domains', () => {
  it('PUT creates (200), GET lists, PUT again renames; users log in with the new name', async () => {
    const id = `d-${uid()}`;
    const created = await call('PUT', `/admin/v1/domains/${id}`, { name: `acme-${id}` });
    expect(created.statusCode, created.body).toBe(200);
    expect(json(created)).toEqual({ id, name: `acme-${id}` });
    expect(await domains()).toContainEqual({ id, name: `acme-${id}` });

    await h.seed({
      users: [{ id: `u-${id}`, name: 'root', domain_id: id, root: true, password: 'pw-1234567' }],
    });
    await call('PUT', `/admin/v1/projects/p-${id}`, { name: 'eu-de', domain_id: id });
    expect(await projectToken(`acme-${id}`, 'root', 'pw-1234567', 'eu-de')).not.toBeNull();

    const renamed = await call('PUT', `/admin/v1/domains/${id}`, { name: `corp-${id}` });
    expect(renamed.statusCode).toBe(200);
    expect(json(renamed)).toEqual({ id, name: `corp-${id}` });
    expect((await domains()).filter((d) => d.id === id)).toEqual([{ id, name: `corp-${id}` }]);
    // The identity cache follows: the old name no longer finds the domain, the new one does.
    expect(await projectToken(`acme-${id}`, 'root', 'pw-1234567', 'eu-de')).toBeNull();
    expect(await projectToken(`corp-${id}`, 'root', 'pw-1234567', 'eu-de')).not.toBeNull();
    // The same PUT again changes nothing and answers the same.
    expect(json(await call('PUT', `/admin/v1/domains/${id}`, { name: `corp-${id}` }))).toEqual(
      json(renamed),
    );
  });

  it('a name another domain has: 409, and nothing changes', async () => {
    const t = await h.tenant();
    const id = `d-${uid()}`;
    const msg = expectAdminError(
      await call('PUT', `/admin/v1/domains/${id}`, { name: t.domainName }),
      409,
    );
    expect(msg).toContain(t.domainName);
    expect(msg).toContain(t.domainId);
    expect((await domains()).some((d) => d.id === id)).toBe(false);
  });

  it.each([
    ['an id with a space', '/admin/v1/domains/a%20b', { name: 'n' }, 'domain_id'],
    ['an id over 64 characters', `/admin/v1/domains/${'d'.repeat(65)}`, { name: 'n' }, 'domain_id'],
    ['no name', '/admin/v1/domains/d-ok', {}, 'name'],
    ['an empty name', '/admin/v1/domains/d-ok', { name: '' }, 'name'],
    ['a name with a line break', '/admin/v1/domains/d-ok', { name: 'a\nb' }, 'name'],
    ['a name that is a number', '/admin/v1/domains/d-ok', { name: 42 }, 'name'],
    ['an unknown field', '/admin/v1/domains/d-ok', { name: 'n', colour: 'blue' }, 'colour'],
    ['no body', '/admin/v1/domains/d-ok', undefined, 'body'],
  ])('PUT with %s: 400 naming it', async (_, url, body, named) => {
    const msg = expectAdminError(await call('PUT', url, body), 400);
    if (named !== 'body') expect(msg).toContain(named);
    expect((await domains()).some((d) => d.id === 'd-ok')).toBe(false);
  });

  it('DELETE: 409 while it holds a project or a user, 204 once empty, then 404', async () => {
    const id = `d-${uid()}`;
    await call('PUT', `/admin/v1/domains/${id}`, { name: `n-${id}` });
    await call('PUT', `/admin/v1/projects/p-${id}`, { name: 'eu-de', domain_id: id });
    await h.seed({ users: [{ id: `u-${id}`, name: 'dev', domain_id: id }] });

    expect(expectAdminError(await call('DELETE', `/admin/v1/domains/${id}`), 409)).toContain(id);
    expect((await call('DELETE', `/admin/v1/projects/p-${id}`)).statusCode).toBe(204);
    expectAdminError(await call('DELETE', `/admin/v1/domains/${id}`), 409);
    expect((await domains()).some((d) => d.id === id)).toBe(true);
    expect((await call('DELETE', `/admin/v1/users/u-${id}`)).statusCode).toBe(204);

    const gone = await call('DELETE', `/admin/v1/domains/${id}`);
    expect(gone.statusCode, gone.body).toBe(204);
    expect(gone.body).toBe('');
    expect((await domains()).some((d) => d.id === id)).toBe(false);
    expectAdminError(await call('DELETE', `/admin/v1/domains/${id}`), 404);
  });
});

describe('projects', () => {
  it('PUT creates (200) in a domain; GET lists, all or of one domain', async () => {
    const t = await h.tenant();
    const id = `p-${uid()}`;
    const res = await call('PUT', `/admin/v1/projects/${id}`, {
      name: 'eu-nl',
      domain_id: t.domainId,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(json(res)).toEqual({ id, name: 'eu-nl', domain_id: t.domainId });
    expect(await projects(`?domain_id=${t.domainId}`)).toEqual(
      [
        { id, name: 'eu-nl', domain_id: t.domainId },
        { id: t.projectId, name: 'eu-de', domain_id: t.domainId },
      ].sort((a, b) => (a.id < b.id ? -1 : 1)),
    );
    expect(await projects()).toContainEqual({ id, name: 'eu-nl', domain_id: t.domainId });
    expect(await projects('?domain_id=d-none')).toEqual([]);

    // The new project is usable at once: a token scoped to it by name tags its resources.
    const token = await projectToken(t.domainName, 'root', t.root.password, 'eu-nl');
    expect(token).not.toBeNull();
    const server = randomUUID();
    expect(
      (await call('PUT', `/admin/v1/projects/${id}/resources/bms_server/${server}`)).statusCode,
    ).toBe(200);
    const tags = await listTags(id, server, token!);
    expect(tags.statusCode, tags.body).toBe(200);
  });

  it('PUT again renames; a token by the new name works and the old name finds nothing', async () => {
    const t = await h.tenant();
    const id = `p-${uid()}`;
    await call('PUT', `/admin/v1/projects/${id}`, { name: 'eu-nl', domain_id: t.domainId });
    expect(await projectToken(t.domainName, 'root', t.root.password, 'eu-nl')).not.toBeNull();
    const res = await call('PUT', `/admin/v1/projects/${id}`, {
      name: 'eu-nl_analytics',
      domain_id: t.domainId,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(json(res)).toEqual({ id, name: 'eu-nl_analytics', domain_id: t.domainId });
    expect(await projectToken(t.domainName, 'root', t.root.password, 'eu-nl')).toBeNull();
    expect(
      await projectToken(t.domainName, 'root', t.root.password, 'eu-nl_analytics'),
    ).not.toBeNull();
  });

  it('names are unique in a domain (409), not across domains', async () => {
    const a = await h.tenant();
    const b = await h.tenant();
    const msg = expectAdminError(
      await call('PUT', `/admin/v1/projects/p-${uid()}`, { name: 'eu-de', domain_id: a.domainId }),
      409,
    );
    expect(msg).toContain(a.projectId);
    // Renaming one project to another's name is refused too.
    const id = `p-${uid()}`;
    await call('PUT', `/admin/v1/projects/${id}`, { name: 'eu-nl', domain_id: a.domainId });
    expectAdminError(
      await call('PUT', `/admin/v1/projects/${id}`, { name: 'eu-de', domain_id: a.domainId }),
      409,
    );
    const other = await call('PUT', `/admin/v1/projects/p-${uid()}`, {
      name: 'eu-nl',
      domain_id: b.domainId,
    });
    expect(other.statusCode, other.body).toBe(200);
    expect((await projects(`?domain_id=${a.domainId}`)).map((p) => p.name).sort()).toEqual([
      'eu-de',
      'eu-nl',
    ]);
  });

  it('an unknown domain: 404; another domain than its own: 409; bad input: 400', async () => {
    const a = await h.tenant();
    const b = await h.tenant();
    const id = `p-${uid()}`;
    expect(
      expectAdminError(
        await call('PUT', `/admin/v1/projects/${id}`, { name: 'eu-de', domain_id: 'd-none' }),
        404,
      ),
    ).toContain('d-none');
    expect(
      expectAdminError(
        await call('PUT', `/admin/v1/projects/${a.projectId}`, {
          name: 'eu-de',
          domain_id: b.domainId,
        }),
        409,
      ),
    ).toContain(a.domainId);
    expectAdminError(await call('PUT', `/admin/v1/projects/${id}`, { name: 'eu-de' }), 400);
    expectAdminError(
      await call('PUT', '/admin/v1/projects/bad%2Fid', { name: 'eu-de', domain_id: a.domainId }),
      400,
    );
    expectAdminError(
      await call('PUT', `/admin/v1/projects/${id}`, { name: '', domain_id: a.domainId }),
      400,
    );
    expect((await projects()).some((p) => p.id === id)).toBe(false);
    expect(await projects(`?domain_id=${a.domainId}`)).toEqual([
      { id: a.projectId, name: 'eu-de', domain_id: a.domainId },
    ]);
  });

  it('DELETE: 409 while it holds a resource, 204 once empty, then 404', async () => {
    const t = await h.tenant();
    const server = await t.resource('bms_server', [{ key: 'env', value: 'dev' }]);
    const msg = expectAdminError(await call('DELETE', `/admin/v1/projects/${t.projectId}`), 409);
    expect(msg).toContain('1 resource');
    expect(json(await listTags(t.projectId, server, t.root.token))).toEqual({
      tags: [{ key: 'env', value: 'dev' }],
    });

    expect(
      (await call('DELETE', `/admin/v1/projects/${t.projectId}/resources/bms_server/${server}`))
        .statusCode,
    ).toBe(204);
    const res = await call('DELETE', `/admin/v1/projects/${t.projectId}`);
    expect(res.statusCode, res.body).toBe(204);
    expect(await projects(`?domain_id=${t.domainId}`)).toEqual([]);
    expectAdminError(await call('DELETE', `/admin/v1/projects/${t.projectId}`), 404);
    // Its tokens no longer reach it: a scope refusal.
    const refused = await listTags(t.projectId, server, t.root.token);
    expect(refused.statusCode, refused.body).toBe(403);
  });
});

describe('identifiers', () => {
  it('a control character in any name or id answers 400, never reaching the store', async () => {
    const t = await h.tenant();
    const bad: [Method, string, unknown?][] = [
      ['PUT', '/admin/v1/domains/d-nul', { name: 'a\u0000b' }],
      ['PUT', '/admin/v1/domains/d-nul', { name: 'tab\there' }],
      ['PUT', '/admin/v1/projects/p-nul', { name: 'a\u0000b', domain_id: t.domainId }],
      ['PUT', '/admin/v1/projects/p-nul', { name: 'eu-fr', domain_id: 'd\u0000x' }],
      ['GET', '/admin/v1/projects?domain_id=d%00x'],
      ['DELETE', '/admin/v1/domains/d%00x'],
      ['DELETE', '/admin/v1/projects/p%00x'],
      ['POST', '/admin/v1/projects/p%01x/reset'],
    ];
    for (const [method, url, body] of bad) {
      expectAdminError(await call(method, url, body), 400);
    }
    expect((await domains()).some((d) => d.id === 'd-nul')).toBe(false);
    expect((await projects()).some((p) => p.id === 'p-nul')).toBe(false);
  });
});

describe('every node sees domain and project changes at once', () => {
  it('a project deleted through one node no longer admits its tokens on another', async () => {
    const second = await createHarness({ databaseUrl: h.databaseUrl, keys: h.keys });
    try {
      const t = await h.tenant();
      const server = await t.resource('bms_server');
      // The second node has the project in its identity cache.
      expect(
        (await second.inject(listTagsRequest(t.projectId, server, t.root.token))).statusCode,
      ).toBe(200);
      await call('DELETE', `/admin/v1/projects/${t.projectId}/resources/bms_server/${server}`);
      expect((await call('DELETE', `/admin/v1/projects/${t.projectId}`)).statusCode).toBe(204);
      // Another PostgreSQL node hears of the change by notification, within milliseconds.
      let res = await second.inject(listTagsRequest(t.projectId, server, t.root.token));
      for (let i = 0; i < 100 && res.statusCode === 400; i++) {
        await new Promise((r) => setTimeout(r, 50));
        res = await second.inject(listTagsRequest(t.projectId, server, t.root.token));
      }
      // A scope refusal (the project is no longer the caller's), not a missing server.
      expect(res.statusCode, res.body).toBe(403);
      expect((json(res) as { error: { code: string } }).error.code).toBe('BMS.0033');
    } finally {
      await second.close();
    }
  });
});

describe('POST /admin/v1/projects/{project_id}/reset', () => {
  it("removes the project's resources, tags and events; identities and other projects stay", async () => {
    const t = await h.tenant();
    const other = await h.tenant();
    const second = `p-${uid()}`;
    await call('PUT', `/admin/v1/projects/${second}`, { name: 'eu-nl', domain_id: t.domainId });
    const gone = await t.resource('bms_server', [{ key: 'env', value: 'dev' }]);
    await t.resource('mrs_cluster', [{ key: 'team', value: 'data' }]);
    const kept = await other.resource('bms_server', [{ key: 'env', value: 'prod' }], gone);
    await h.seed({
      resources: [
        { project_id: second, type: 'bms_server', id: gone, tags: [{ key: 'a', value: 'b' }] },
      ],
    });

    const res = await call('POST', `/admin/v1/projects/${t.projectId}/reset`);
    expect(res.statusCode, res.body).toBe(204);
    expect(res.body).toBe('');

    const listed = await call('GET', `/admin/v1/projects/${t.projectId}/resources`);
    expect(json(listed)).toEqual({ resources: [] });
    // Its change history goes too; the other projects' stays.
    const history = async (projectId: string) =>
      (json(await call('GET', `/admin/v1/events?project_id=${projectId}`)) as { events: unknown[] })
        .events;
    expect(await history(t.projectId)).toEqual([]);
    expect(await history(second)).toHaveLength(1);
    expect(await history(other.projectId)).toHaveLength(1);
    // The service no longer finds it: it answers its not-found code.
    const tags = await listTags(t.projectId, gone, t.root.token);
    expect(tags.statusCode).toBe(400);
    expect((json(tags) as { error: { code: string } }).error.code).toBe('BMS.0040');

    // The same id in another project of the domain, and in another domain, keeps its tags.
    const secondList = json(await call('GET', `/admin/v1/projects/${second}/resources`)) as {
      resources: { id: string; tags: unknown[] }[];
    };
    expect(secondList.resources.map((r) => [r.id, r.tags])).toEqual([
      [gone, [{ key: 'a', value: 'b' }]],
    ]);
    expect(json(await listTags(other.projectId, kept, other.root.token))).toEqual({
      tags: [{ key: 'env', value: 'prod' }],
    });

    // Identities stay: the project, its domain, the users and their credentials.
    expect(await projects(`?domain_id=${t.domainId}`)).toContainEqual({
      id: t.projectId,
      name: 'eu-de',
      domain_id: t.domainId,
    });
    expect(await projectToken(t.domainName, 'root', t.root.password, 'eu-de')).not.toBeNull();

    // A resource registered again starts without tags.
    await call('PUT', `/admin/v1/projects/${t.projectId}/resources/bms_server/${gone}`);
    expect(json(await listTags(t.projectId, gone, t.root.token))).toEqual({ tags: [] });

    // Resetting an empty project is fine; an unknown one is 404.
    expect((await call('POST', `/admin/v1/projects/${t.projectId}/reset`)).statusCode).toBe(204);
    expectAdminError(await call('POST', '/admin/v1/projects/p-none/reset'), 404);
  });
});
