import { randomBytes, randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectGatewayError } from '../support/envelopes.js';
import { ADMIN_TOKEN, createHarness, type Harness, type Tenant } from '../support/harness.js';
import { signed } from '../support/signing.js';

let h: Harness;

beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const uid = () => randomBytes(5).toString('hex');

function seedRequest(doc: unknown, headers: Record<string, string> = admin) {
  return h.inject({
    method: 'POST',
    url: '/admin/v1/seed',
    headers: { ...headers, 'content-type': 'application/json' },
    payload: typeof doc === 'string' ? doc : JSON.stringify(doc),
  });
}

type Resource = {
  project_id: string;
  type: string;
  id: string;
  name: string;
  enterprise_project_id: string;
  created_at: string;
  tags: { key: string; value: string }[];
};

async function listResources(projectId: string, query = ''): Promise<Resource[]> {
  const res = await h.inject({
    method: 'GET',
    url: `/admin/v1/projects/${projectId}/resources${query}`,
    headers: admin,
  });
  expect(res.statusCode, res.body).toBe(200);
  return (JSON.parse(res.body) as { resources: Resource[] }).resources;
}

async function projectExists(projectId: string): Promise<boolean> {
  const res = await h.inject({
    method: 'GET',
    url: `/admin/v1/projects/${projectId}/resources`,
    headers: admin,
  });
  expect([200, 404]).toContain(res.statusCode);
  return res.statusCode === 200;
}

/** A 4xx of the admin API: `{"error_code","error_msg","request_id"}`. */
function expectAdminError(res: LightMyRequestResponse, status: number): string {
  expect(res.statusCode, res.body).toBe(status);
  const body = JSON.parse(res.body) as Record<string, string>;
  expect(Object.keys(body).sort()).toEqual(['error_code', 'error_msg', 'request_id']);
  expect(body.error_code).toMatch(/^ADMIN\./);
  expect(body.request_id).toBe(res.headers['x-request-id']);
  return body.error_msg!;
}

/** Whether a password token can be had for the user. */
async function canLogIn(domainName: string, name: string, password: string): Promise<boolean> {
  const res = await h.inject({
    method: 'POST',
    url: '/v3/auth/tokens',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name, password, domain: { name: domainName } } },
        },
        scope: { domain: { name: domainName } },
      },
    }),
  });
  expect([201, 401]).toContain(res.statusCode);
  return res.statusCode === 201;
}

/** A complete seed document for a new domain. */
function document() {
  const u = uid();
  const ids = { domain: `d-${u}`, project: `p-${u}`, root: `u-root-${u}`, dev: `u-dev-${u}` };
  const secrets = {
    rootPw: `root-pw-${u}`,
    devPw: `dev-pw-${u}`,
    rootSk: `root-sk-${u}`,
    devSk: `dev-sk-${u}`,
  };
  const doc = {
    domains: [{ id: ids.domain, name: `acme-${u}` }],
    projects: [{ id: ids.project, name: 'eu-de', domain_id: ids.domain }],
    users: [
      {
        id: ids.root,
        name: 'acme',
        domain_id: ids.domain,
        root: true,
        password: secrets.rootPw,
        access_keys: [{ access_key: `AKROOT${u}`, secret_key: secrets.rootSk }],
      },
      {
        id: ids.dev,
        name: 'dev',
        domain_id: ids.domain,
        password: secrets.devPw,
        access_keys: [{ access_key: `AKDEV${u}`, secret_key: secrets.devSk }],
        policies: [
          {
            Version: '5.0',
            Statement: [{ Effect: 'Allow', Action: ['bms:*:*'], Resource: ['*'] }],
          },
        ],
      },
    ],
    resources: [
      {
        project_id: ids.project,
        type: 'bms_server',
        id: `srv-${u}`,
        name: 'web-1',
        enterprise_project_id: '0',
        tags: [{ key: 'env', value: 'dev' }],
      },
      { project_id: ids.project, type: 'as_group', id: `asg-${u}`, name: 'web-asg' },
      {
        project_id: ids.project,
        type: 'mrs_cluster',
        id: `mrs-${u}`,
        name: 'analytics',
        enterprise_project_id: 'ep-1',
        tags: [{ key: 'team', value: 'data' }],
      },
    ],
  };
  return { doc, ids, secrets, u, domainName: `acme-${u}` };
}

describe('admin authentication', () => {
  const routes = [
    { method: 'POST', url: '/admin/v1/seed', payload: '{}' },
    { method: 'POST', url: '/admin/v1/reset' },
    { method: 'PUT', url: '/admin/v1/projects/p/resources/bms_server/x', payload: '{}' },
    { method: 'DELETE', url: '/admin/v1/projects/p/resources/bms_server/x' },
    { method: 'GET', url: '/admin/v1/projects/p/resources' },
  ] as const;

  it.each(routes)('$method $url: 401 without, or with a wrong, admin token', async (route) => {
    const base = {
      method: route.method,
      url: route.url,
      ...('payload' in route ? { payload: route.payload } : {}),
    };
    const wrong = [
      {},
      { authorization: 'Bearer' },
      { authorization: 'Bearer wrong-admin-token-0000000000' },
      { authorization: `Bearer ${ADMIN_TOKEN}x` },
      { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` },
      { authorization: ADMIN_TOKEN },
      { 'x-auth-token': ADMIN_TOKEN },
    ];
    for (const headers of wrong) {
      const res = await h.inject({
        ...base,
        headers: { 'content-type': 'application/json', ...headers },
      });
      expectGatewayError(res, 401, 'APIG.0301');
    }
    // A tenant's root credentials are not admin credentials either.
    const t = await h.tenant();
    const res = await h.inject({
      ...base,
      headers: { 'content-type': 'application/json', 'x-auth-token': t.root.token },
    });
    expectGatewayError(res, 401, 'APIG.0301');
    const signedRes = await h.inject(
      signed({ ...base, headers: { 'content-type': 'application/json' } }, t.root),
    );
    expectGatewayError(signedRes, 401, 'APIG.0301');
    // Nothing was reset or changed.
    expect(await projectExists(t.projectId)).toBe(true);
  });

  it('the bearer scheme is case-insensitive', async () => {
    const t = await h.tenant();
    const res = await h.inject({
      method: 'GET',
      url: `/admin/v1/projects/${t.projectId}/resources`,
      headers: { authorization: `bearer ${ADMIN_TOKEN}` },
    });
    expect(res.statusCode).toBe(200);
  });
});

describe('POST /admin/v1/seed', () => {
  it('loads domains, projects, users with passwords and keys, and resources with tags', async () => {
    const { doc, ids, secrets, domainName, u } = document();
    const res = await seedRequest(doc);
    expect(res.statusCode, res.body).toBe(200);
    // Every entry's id, in document order.
    expect(JSON.parse(res.body)).toEqual({
      ids: {
        domains: [ids.domain],
        projects: [ids.project],
        users: [ids.root, ids.dev],
        resources: [`srv-${u}`, `asg-${u}`, `mrs-${u}`],
      },
    });

    const resources = await listResources(ids.project);
    expect(resources.map((r) => [r.type, r.id, r.name, r.enterprise_project_id, r.tags])).toEqual(
      expect.arrayContaining([
        ['bms_server', `srv-${u}`, 'web-1', '0', [{ key: 'env', value: 'dev' }]],
        ['as_group', `asg-${u}`, 'web-asg', '0', []],
        ['mrs_cluster', `mrs-${u}`, 'analytics', 'ep-1', [{ key: 'team', value: 'data' }]],
      ]),
    );
    expect(resources).toHaveLength(3);
    expect(await canLogIn(domainName, 'acme', secrets.rootPw)).toBe(true);
    expect(await canLogIn(domainName, 'dev', secrets.devPw)).toBe(true);

    // The seeded access key signs requests; the seeded resource is taggable.
    const list = await h.inject(
      signed(
        { method: 'GET', url: `/v1/${ids.project}/baremetalservers/srv-${u}/tags`, headers: {} },
        { accessKey: `AKROOT${u}`, secretKey: secrets.rootSk },
      ),
    );
    expect(list.statusCode, list.body).toBe(200);
    expect(JSON.parse(list.body)).toEqual({ tags: [{ key: 'env', value: 'dev' }] });
  });

  it('is an idempotent upsert: loading the same document twice gives the same state', async () => {
    const { doc, ids, secrets, domainName, u } = document();
    const first = await seedRequest(doc);
    expect(first.statusCode, first.body).toBe(200);
    const before = await listResources(ids.project);
    const tokenBefore = await canLogIn(domainName, 'acme', secrets.rootPw);

    const second = await seedRequest(doc);
    expect(second.statusCode, second.body).toBe(200);
    expect(second.body).toBe(first.body);
    expect(await listResources(ids.project)).toEqual(before);
    expect(await canLogIn(domainName, 'acme', secrets.rootPw)).toBe(tokenBefore);
    const list = await h.inject(
      signed(
        { method: 'GET', url: `/v1/${ids.project}/baremetalservers/srv-${u}/tags`, headers: {} },
        { accessKey: `AKDEV${u}`, secretKey: secrets.devSk },
      ),
    );
    // The dev user has no effective permission yet (403), but the key still verifies (not 401).
    expect(list.statusCode).not.toBe(401);
  });

  it('updates what changed: names, passwords, secret keys; tags become the listed ones', async () => {
    const { doc, ids, secrets, domainName, u } = document();
    expect((await seedRequest(doc)).statusCode).toBe(200);
    const changed = structuredClone(doc);
    changed.users[0]!.password = `${secrets.rootPw}-new`;
    changed.users[0]!.access_keys[0]!.secret_key = `${secrets.rootSk}-new`;
    changed.resources[0]!.name = 'web-renamed';
    changed.resources[0]!.tags = [{ key: 'owner', value: 'alice' }];
    // A resource listed without tags keeps its tags.
    delete (changed.resources[2] as { tags?: unknown }).tags;
    expect((await seedRequest(changed)).statusCode).toBe(200);

    const byId = new Map((await listResources(ids.project)).map((r) => [r.id, r]));
    expect(byId.get(`srv-${u}`)).toMatchObject({
      name: 'web-renamed',
      tags: [{ key: 'owner', value: 'alice' }],
    });
    expect(byId.get(`mrs-${u}`)!.tags).toEqual([{ key: 'team', value: 'data' }]);
    expect(await canLogIn(domainName, 'acme', secrets.rootPw)).toBe(false);
    expect(await canLogIn(domainName, 'acme', `${secrets.rootPw}-new`)).toBe(true);
    const old = await h.inject(
      signed(
        { method: 'GET', url: `/v1/${ids.project}/baremetalservers/srv-${u}/tags`, headers: {} },
        { accessKey: `AKROOT${u}`, secretKey: secrets.rootSk },
      ),
    );
    expect(old.statusCode).toBe(401);
  });

  it('accepts a document of only some sections, referring to what the database holds', async () => {
    const t = await h.tenant();
    const res = await seedRequest({
      resources: [
        {
          project_id: t.projectId,
          type: 'ddm_instance',
          id: 'ddm-1',
          tags: [{ key: 'a', value: 'b' }],
        },
      ],
    });
    expect(res.statusCode, res.body).toBe(200);
    expect((await listResources(t.projectId, '?type=ddm_instance')).map((r) => r.tags)).toEqual([
      [{ key: 'a', value: 'b' }],
    ]);
  });

  describe('a bad document is rejected whole, naming the bad entry, and changes nothing', () => {
    type Doc = ReturnType<typeof document>['doc'] & Record<string, unknown>;
    const cases: [string, (doc: Doc, existing: Tenant) => void, (d: Doc) => string[]][] = [
      [
        'unknown resource type',
        (d) => {
          (d.resources[1] as { type: string }).type = 'ecs_server';
        },
        (d) => ['resources[1]', d.resources[1]!.id, 'ecs_server'],
      ],
      [
        'resource in a project that does not exist',
        (d) => {
          d.resources[2]!.project_id = 'p-missing';
        },
        (d) => [d.resources[2]!.id, 'p-missing'],
      ],
      [
        "tag that breaks the service's rules (AS keys have no dots)",
        (d) => {
          (d.resources[1] as { tags?: unknown }).tags = [{ key: 'a.b', value: 'x' }];
        },
        (d) => ['resources[1]', d.resources[1]!.id],
      ],
      [
        "tag that breaks the service's rules (BMS keys have no '=')",
        (d) => {
          d.resources[0]!.tags = [{ key: 'a=b', value: 'x' }];
        },
        (d) => ['resources[0]', d.resources[0]!.id],
      ],
      [
        'more tags than the service allows (AS: 10)',
        (d) => {
          (d.resources[1] as { tags?: unknown }).tags = Array.from({ length: 11 }, (_, i) => ({
            key: `k${i}`,
            value: 'v',
          }));
        },
        (d) => ['resources[1]', d.resources[1]!.id],
      ],
      [
        'duplicate tag key on one resource',
        (d) => {
          d.resources[0]!.tags = [
            { key: 'a', value: '1' },
            { key: 'a', value: '2' },
          ];
        },
        (d) => ['resources[0]', d.resources[0]!.id],
      ],
      [
        'duplicate resource',
        (d) => {
          d.resources.push({ ...d.resources[0]!, name: 'again' });
        },
        (d) => [d.resources[0]!.id],
      ],
      [
        'duplicate domain id',
        (d) => {
          d.domains.push({ id: d.domains[0]!.id, name: 'other-name' });
        },
        (d) => [d.domains[0]!.id],
      ],
      [
        'duplicate project id',
        (d) => {
          d.projects.push({ ...d.projects[0]!, name: 'eu-nl' });
        },
        (d) => [d.projects[0]!.id],
      ],
      [
        'duplicate user id',
        (d) => {
          d.users.push({ ...d.users[1]!, name: 'dev2', access_keys: [] });
        },
        (d) => [d.users[1]!.id],
      ],
      [
        'duplicate access key',
        (d) => {
          d.users[1]!.access_keys = [...d.users[0]!.access_keys];
        },
        (d) => [d.users[0]!.access_keys[0]!.access_key],
      ],
      [
        'access key of a user in the database',
        (d, existing) => {
          d.users[1]!.access_keys = [
            { access_key: existing.root.accessKey, secret_key: 'stolen-secret-1' },
          ];
        },
        (d) => [d.users[1]!.id],
      ],
      [
        'unknown field in a resource',
        (d) => {
          (d.resources[0] as Record<string, unknown>).colour = 'blue';
        },
        (d) => ['resources[0]', d.resources[0]!.id, 'colour'],
      ],
      [
        'unknown field in a user',
        (d) => {
          (d.users[0] as Record<string, unknown>).email = 'root@example.com';
        },
        (d) => ['users[0]', d.users[0]!.id, 'email'],
      ],
      [
        'unknown top-level section',
        (d) => {
          d.servers = [];
        },
        () => ['servers'],
      ],
      [
        'two projects of one domain with the same name',
        (d) => {
          d.projects.push({ ...d.projects[0]!, id: `${d.projects[0]!.id}-2` });
        },
        (d) => ['eu-de', d.domains[0]!.id],
      ],
      [
        'a project named like another project of the domain in the database',
        (d, existing) => {
          d.projects.push({
            id: `${d.projects[0]!.id}-2`,
            name: existing.projectName,
            domain_id: existing.domainId,
          });
        },
        (d) => [`${d.projects[0]!.id}-2`, 'eu-de'],
      ],
      [
        'project of a domain that does not exist',
        (d) => {
          d.projects[0]!.domain_id = 'd-missing';
        },
        (d) => [d.projects[0]!.id, 'd-missing'],
      ],
      [
        'user of a domain that does not exist',
        (d) => {
          d.users[1]!.domain_id = 'd-missing';
        },
        (d) => [d.users[1]!.id, 'd-missing'],
      ],
      [
        'policy with an invalid effect',
        (d) => {
          d.users[1]!.policies = [
            { Version: '5.0', Statement: [{ Effect: 'Maybe', Action: ['*'], Resource: ['*'] }] },
          ];
        },
        (d) => ['users[1]', d.users[1]!.id],
      ],
      [
        'resource id with a slash',
        (d) => {
          d.resources[0]!.id = 'a/b';
        },
        () => ['resources[0]'],
      ],
      [
        'user without a name',
        (d) => {
          delete (d.users[0] as { name?: string }).name;
        },
        (d) => ['users[0]', d.users[0]!.id, 'name'],
      ],
    ];

    it.each(cases)('%s', async (_, spoil, named) => {
      const existing = await h.tenant();
      const existingId = await existing.resource('bms_server', [{ key: 'keep', value: 'me' }]);
      const { doc, ids, secrets, domainName } = document();
      const bad = structuredClone(doc) as Doc;
      // The document also touches what exists: none of it may be applied.
      bad.resources.push({
        project_id: existing.projectId,
        type: 'bms_server',
        id: existingId,
        name: 'renamed',
        enterprise_project_id: '0',
        tags: [{ key: 'changed', value: 'yes' }],
      });
      spoil(bad, existing);

      const res = await seedRequest(bad);
      const message = expectAdminError(res, 400);
      for (const part of named(bad)) expect(message).toContain(part);

      expect(await projectExists(ids.project)).toBe(false);
      expect(await canLogIn(domainName, 'acme', secrets.rootPw)).toBe(false);
      const [kept] = await listResources(existing.projectId);
      expect(kept).toMatchObject({
        id: existingId,
        name: expect.not.stringMatching('renamed'),
        tags: [{ key: 'keep', value: 'me' }],
      });
      // The good version of the same document still loads.
      expect((await seedRequest(doc)).statusCode).toBe(200);
    });

    it.each(['short', 'has a space in it', 'tab\tseparated-secret'])(
      'a secret key that breaks the rules (%j) is named but not repeated',
      async (secret) => {
        const { doc } = document();
        doc.users[1]!.access_keys[0]!.secret_key = secret;
        const res = await seedRequest(doc);
        const message = expectAdminError(res, 400);
        expect(message).toContain('users[1]');
        expect(message).toContain('secret_key');
        expect(res.body).not.toContain(JSON.stringify(secret).slice(1, -1));
      },
    );

    it.each([
      ['not JSON', '{"domains": ['],
      ['a JSON array', '[]'],
      ['domains not an array', '{"domains": {}}'],
      ['an entry not an object', '{"domains": ["d-1"]}'],
    ])('%s: 400', async (_, payload) => {
      expectAdminError(await seedRequest(payload), 400);
    });
  });
});

describe('POST /admin/v1/reset', () => {
  it('answers 204 and empties every table of tenant data; the admin token still works', async () => {
    const own = await createHarness();
    try {
      const t = await own.tenant();
      const id = await t.resource('bms_server', [{ key: 'env', value: 'dev' }]);
      const reset = await own.inject({ method: 'POST', url: '/admin/v1/reset', headers: admin });
      expect(reset.statusCode).toBe(204);
      expect(reset.body).toBe('');

      // Projects, resources and tags are gone.
      const list = await own.inject({
        method: 'GET',
        url: `/admin/v1/projects/${t.projectId}/resources`,
        headers: admin,
      });
      expect(list.statusCode).toBe(404);
      // Users, passwords, tokens and access keys are gone.
      const tags = `/v1/${t.projectId}/baremetalservers/${id}/tags`;
      expectGatewayError(
        await own.inject({ method: 'GET', url: tags, headers: { 'x-auth-token': t.root.token } }),
        401,
        'APIG.0301',
      );
      expectGatewayError(
        await own.inject(signed({ method: 'GET', url: tags, headers: {} }, t.root)),
        401,
        'APIG.0301',
      );
      const login = await own.inject({
        method: 'POST',
        url: '/v3/auth/tokens',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({
          auth: {
            identity: {
              methods: ['password'],
              password: {
                user: { name: 'root', password: t.root.password, domain: { name: t.domainName } },
              },
            },
          },
        }),
      });
      expect(login.statusCode).toBe(401);

      // The same ids can be seeded again from scratch, and the resource has no tags left over.
      const again = await own.tenant();
      await own.seed({ projects: [{ id: t.projectId, name: 'eu-nl', domain_id: again.domainId }] });
      await own.seed({ resources: [{ project_id: t.projectId, type: 'bms_server', id }] });
      const relisted = await own.inject({
        method: 'GET',
        url: `/admin/v1/projects/${t.projectId}/resources`,
        headers: admin,
      });
      expect(JSON.parse(relisted.body).resources.map((r: Resource) => r.tags)).toEqual([[]]);

      // Resetting an empty database is fine too.
      const twice = await own.inject({ method: 'POST', url: '/admin/v1/reset', headers: admin });
      expect(twice.statusCode).toBe(204);
    } finally {
      await own.close();
    }
  });
});

describe('resource registration', () => {
  let t: Tenant;
  beforeAll(async () => {
    t = await h.tenant();
  });

  const put = (projectId: string, type: string, id: string, body?: unknown) =>
    h.inject({
      method: 'PUT',
      url: `/admin/v1/projects/${projectId}/resources/${type}/${encodeURIComponent(id)}`,
      headers: { ...admin, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined
        ? { payload: typeof body === 'string' ? body : JSON.stringify(body) }
        : {}),
    });
  const del = (projectId: string, type: string, id: string) =>
    h.inject({
      method: 'DELETE',
      url: `/admin/v1/projects/${projectId}/resources/${type}/${encodeURIComponent(id)}`,
      headers: admin,
    });
  const bmsTags = (id: string) =>
    h.inject({
      method: 'GET',
      url: `/v1/${t.projectId}/baremetalservers/${id}/tags`,
      headers: { 'x-auth-token': t.root.token },
    });

  it('PUT registers a resource (200 with it); it can then be tagged through its service', async () => {
    const id = randomUUID();
    const res = await put(t.projectId, 'bms_server', id, { name: 'web-9' });
    expect(res.statusCode, res.body).toBe(200);
    const body = JSON.parse(res.body) as Resource;
    expect(body).toEqual({
      project_id: t.projectId,
      type: 'bms_server',
      id,
      name: 'web-9',
      enterprise_project_id: '0',
      created_at: expect.any(String),
      tags: [],
    });
    expect(Number.isNaN(Date.parse(body.created_at))).toBe(false);
    const tag = await h.inject({
      method: 'POST',
      url: `/v1/${t.projectId}/baremetalservers/${id}/tags/action`,
      headers: { 'x-auth-token': t.root.token, 'content-type': 'application/json' },
      payload: JSON.stringify({ action: 'create', tags: [{ key: 'env', value: 'prod' }] }),
    });
    expect(tag.statusCode, tag.body).toBe(204);
  });

  it('PUT without a body registers with an empty name and enterprise project "0"', async () => {
    const res = await put(t.projectId, 'mrs_cluster', randomUUID());
    expect(res.statusCode, res.body).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ name: '', enterprise_project_id: '0' });
  });

  it('PUT again updates name and enterprise project, keeping the tags and registration time', async () => {
    const id = await t.resource('bms_server', [{ key: 'env', value: 'dev' }]);
    const [before] = (await listResources(t.projectId, '?type=bms_server')).filter(
      (r) => r.id === id,
    );
    const res = await put(t.projectId, 'bms_server', id, {
      name: 'renamed',
      enterprise_project_id: 'ep-9',
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(JSON.parse(res.body)).toEqual({
      ...before,
      name: 'renamed',
      enterprise_project_id: 'ep-9',
    });
  });

  it('PUT in an unknown project: 404; with an unknown type: 400; with a bad body: 400', async () => {
    expectAdminError(await put('p-missing', 'bms_server', 'x', { name: 'a' }), 404);
    expect(await projectExists('p-missing')).toBe(false);
    expectAdminError(await put(t.projectId, 'ecs_server', 'x', { name: 'a' }), 400);
    expectAdminError(await put(t.projectId, 'bms_server', 'x'.repeat(129), { name: 'a' }), 400);
    expectAdminError(await put(t.projectId, 'bms_server', 'x', { name: 42 }), 400);
    expectAdminError(
      await put(t.projectId, 'bms_server', 'x', { enterprise_project_id: null }),
      400,
    );
    expectAdminError(await put(t.projectId, 'bms_server', 'x', '{"name":'), 400);
    expect((await listResources(t.projectId)).some((r) => r.id === 'x')).toBe(false);
  });

  it("DELETE deregisters: 204, the service no longer finds it, and its tags don't come back", async () => {
    const id = await t.resource('bms_server', [{ key: 'env', value: 'dev' }]);
    const res = await del(t.projectId, 'bms_server', id);
    expect(res.statusCode, res.body).toBe(204);
    expect(res.body).toBe('');
    const gone = await bmsTags(id);
    expect(gone.statusCode).toBe(400);
    expect(JSON.parse(gone.body).error.code).toBe('BMS.0040');
    expect((await listResources(t.projectId)).some((r) => r.id === id)).toBe(false);

    expect((await put(t.projectId, 'bms_server', id, { name: 'back' })).statusCode).toBe(200);
    expect(JSON.parse((await bmsTags(id)).body)).toEqual({ tags: [] });
  });

  it('DELETE of something not registered: 404; of an unknown type: 400', async () => {
    expectAdminError(await del(t.projectId, 'bms_server', 'never-registered'), 404);
    expectAdminError(await del('p-missing', 'bms_server', 'x'), 404);
    expectAdminError(await del(t.projectId, 'ecs_server', 'x'), 400);
    // The same id under another type is another resource.
    const id = await t.resource('as_group');
    expectAdminError(await del(t.projectId, 'bms_server', id), 404);
    expect((await listResources(t.projectId, '?type=as_group')).some((r) => r.id === id)).toBe(
      true,
    );
  });

  it('GET lists newest registration first, with tags, filtered by ?type=', async () => {
    const own = await h.tenant();
    const a = await own.resource('bms_server', [{ key: 'n', value: '1' }], 'res-a');
    const b = await own.resource('ddm_instance', undefined, 'res-b');
    const c = await own.resource('bms_server', [{ key: 'n', value: '3' }], 'res-c');
    const all = await listResources(own.projectId);
    expect(all.map((r) => r.id)).toEqual([c, b, a]);
    expect(all[0]!.tags).toEqual([{ key: 'n', value: '3' }]);
    expect((await listResources(own.projectId, '?type=bms_server')).map((r) => r.id)).toEqual([
      c,
      a,
    ]);
    expect(await listResources(own.projectId, '?type=mrs_cluster')).toEqual([]);
    // Re-registering does not make a resource newer.
    expect((await put(own.projectId, 'bms_server', a, { name: 'again' })).statusCode).toBe(200);
    expect((await listResources(own.projectId)).map((r) => r.id)).toEqual([c, b, a]);
  });

  it('resources of one seed call are listed by resource id', async () => {
    const own = await h.tenant();
    await h.seed({
      resources: ['r-2', 'r-3', 'r-1'].map((id) => ({
        project_id: own.projectId,
        type: 'bms_server',
        id,
      })),
    });
    expect((await listResources(own.projectId)).map((r) => r.id)).toEqual(['r-1', 'r-2', 'r-3']);
  });

  it('GET of an unknown project: 404; with an unknown type: 400', async () => {
    const unknown = await h.inject({
      method: 'GET',
      url: '/admin/v1/projects/p-missing/resources',
      headers: admin,
    });
    expectAdminError(unknown, 404);
    const badType = await h.inject({
      method: 'GET',
      url: `/admin/v1/projects/${t.projectId}/resources?type=ecs_server`,
      headers: admin,
    });
    expectAdminError(badType, 400);
  });

  it('resources are per project: the same id in two projects are two resources', async () => {
    const other = await h.tenant();
    const id = `shared-${uid()}`;
    await t.resource('bms_server', [{ key: 'p', value: 'one' }], id);
    await other.resource('bms_server', [{ key: 'p', value: 'two' }], id);
    expect((await del(t.projectId, 'bms_server', id)).statusCode).toBe(204);
    const kept = (await listResources(other.projectId)).find((r) => r.id === id);
    expect(kept?.tags).toEqual([{ key: 'p', value: 'two' }]);
  });
});
