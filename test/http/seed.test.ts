import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { LightMyRequestResponse } from 'fastify';
import { Compile } from 'typebox/compile';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEED_EXAMPLE } from '../../src/http/seed-example.js';
import { ADMIN_TOKEN, createHarness, type Harness, json } from '../support/harness.js';

let h: Harness;

beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const uid = () => randomBytes(5).toString('hex');
const HEX32 = /^[0-9a-f]{32}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type Ids = { domains: string[]; projects: string[]; users: string[]; resources: string[] };

const post = (doc: unknown) =>
  h.inject({
    method: 'POST',
    url: '/admin/v1/seed',
    headers: { ...admin, 'content-type': 'application/json' },
    payload: JSON.stringify(doc),
  });

async function load(doc: unknown): Promise<Ids> {
  const res = await post(doc);
  expect(res.statusCode, res.body).toBe(200);
  const body = json(res) as { ids: Ids };
  expect(Object.keys(body)).toEqual(['ids']);
  return body.ids;
}

function refusal(res: LightMyRequestResponse): string {
  expect(res.statusCode, res.body).toBe(400);
  const body = json(res) as Record<string, string>;
  expect(body.error_code).toBe('ADMIN.0400');
  return body.error_msg!;
}

const get = async <T>(url: string): Promise<T> => {
  const res = await h.inject({ method: 'GET', url, headers: admin });
  expect(res.statusCode, res.body).toBe(200);
  return json(res) as T;
};

/** Every domain, project, user and resource the database holds, to see that nothing was added. */
async function everything() {
  const { domains } = await get<{ domains: { id: string }[] }>('/admin/v1/domains');
  const { projects } = await get<{ projects: { id: string }[] }>('/admin/v1/projects');
  const { users } = await get<{ users: { id: string }[] }>('/admin/v1/users');
  const resources = await Promise.all(
    projects.map((p) =>
      get<{ resources: unknown[] }>(`/admin/v1/projects/${p.id}/resources`).then(
        (r) => r.resources,
      ),
    ),
  );
  return { domains, projects, users, resources };
}

async function canLogIn(domainName: string, name: string, password: string, project: string) {
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
        scope: { project: { name: project, domain: { name: domainName } } },
      },
    }),
  });
  return res.statusCode === 201;
}

/** A document in the README's style, for a domain of its own. */
function byNames() {
  const domain = `acme-${uid()}`;
  const doc = {
    domains: [{ name: domain }],
    projects: [
      { name: 'eu-de', domain_name: domain },
      { name: 'eu-nl', domain_name: domain },
    ],
    users: [{ name: 'root', domain_name: domain, root: true, password: `pw-${domain}` }],
    resources: [
      {
        project_name: 'eu-de',
        domain_name: domain,
        type: 'bms_server',
        name: 'web-1',
        tags: [{ key: 'env', value: 'dev' }],
      },
      { project_name: 'eu-nl', domain_name: domain, type: 'bms_server', name: 'web-1' },
      { project_name: 'eu-de', domain_name: domain, type: 'ddm_instance', name: 'db', id: 'ddm-1' },
    ],
  };
  return { doc, domain };
}

describe('seed entries without ids, parents named by name', () => {
  it('answers every id in document order, generated where none was given', async () => {
    const { doc, domain } = byNames();
    const ids = await load(doc);
    expect(ids.domains).toEqual([expect.stringMatching(HEX32)]);
    expect(ids.projects).toEqual([expect.stringMatching(HEX32), expect.stringMatching(HEX32)]);
    expect(new Set(ids.projects).size).toBe(2);
    expect(ids.users).toEqual([expect.stringMatching(HEX32)]);
    expect(ids.resources).toEqual([
      expect.stringMatching(UUID),
      expect.stringMatching(UUID),
      'ddm-1',
    ]);

    // The ids are those the admin API lists, and the entries are where the names put them.
    const [domainId] = ids.domains;
    expect((await get<{ domains: unknown[] }>('/admin/v1/domains')).domains).toContainEqual({
      id: domainId,
      name: domain,
    });
    expect(
      (await get<{ projects: unknown[] }>(`/admin/v1/projects?domain_id=${domainId}`)).projects,
    ).toEqual(
      [
        { id: ids.projects[0], name: 'eu-de', domain_id: domainId },
        { id: ids.projects[1], name: 'eu-nl', domain_id: domainId },
      ].sort((a, b) => (a.id! < b.id! ? -1 : 1)),
    );
    const eu = await get<{ resources: { id: string; name: string; tags: unknown[] }[] }>(
      `/admin/v1/projects/${ids.projects[0]}/resources`,
    );
    expect(eu.resources.map((r) => [r.id, r.name, r.tags]).sort()).toEqual(
      [
        [ids.resources[0], 'web-1', [{ key: 'env', value: 'dev' }]],
        ['ddm-1', 'db', []],
      ].sort(),
    );
    expect(await canLogIn(domain, 'root', `pw-${domain}`, 'eu-nl')).toBe(true);
  });

  it('loading the same document again creates nothing and answers the same ids', async () => {
    const { doc } = byNames();
    const first = await load(doc);
    const before = await everything();
    expect(await load(doc)).toEqual(first);
    expect(await everything()).toEqual(before);
  });

  it('an entry without an id takes the id of what the database holds under its name', async () => {
    const t = await h.tenant();
    const server = await t.resource('bms_server', [{ key: 'keep', value: 'me' }]);
    const [registered] = (
      await get<{ resources: { name: string }[] }>(`/admin/v1/projects/${t.projectId}/resources`)
    ).resources;
    const ids = await load({
      domains: [{ name: t.domainName }],
      projects: [{ name: 'eu-de', domain_id: t.domainId }],
      users: [{ name: 'dev', domain_name: t.domainName }],
      resources: [
        {
          project_name: 'eu-de',
          domain_name: t.domainName,
          type: 'bms_server',
          name: registered!.name,
          tags: [{ key: 'env', value: 'prod' }],
        },
      ],
    });
    expect(ids).toEqual({
      domains: [t.domainId],
      projects: [t.projectId],
      users: [t.iamUser.id],
      resources: [server],
    });
    const tags = await h.inject({
      method: 'GET',
      url: `/v1/${t.projectId}/baremetalservers/${server}/tags`,
      headers: { 'x-auth-token': t.root.token },
    });
    expect(json(tags)).toEqual({ tags: [{ key: 'env', value: 'prod' }] });
  });

  it('ids and names mix: entries with ids refer to parents by name and the other way', async () => {
    const u = uid();
    const ids = await load({
      domains: [{ id: `d-${u}`, name: `mix-${u}` }],
      projects: [{ id: `p-${u}`, name: 'eu-de', domain_name: `mix-${u}` }],
      users: [{ name: 'ops', domain_id: `d-${u}` }],
      resources: [{ project_id: `p-${u}`, type: 'mrs_cluster', name: 'analytics' }],
    });
    expect(ids).toEqual({
      domains: [`d-${u}`],
      projects: [`p-${u}`],
      users: [expect.stringMatching(HEX32)],
      resources: [expect.stringMatching(UUID)],
    });
    const listed = await get<{ users: { id: string; domain_id: string }[] }>(
      `/admin/v1/users?domain_id=d-${u}`,
    );
    expect(listed.users.map((x) => x.id)).toEqual(ids.users);
  });

  describe('a bad reference is refused whole, naming the entry', () => {
    const cases: [string, (d: string) => unknown, string[]][] = [
      [
        'domain_id and domain_name both',
        (d) => ({ projects: [{ name: 'eu-de', domain_id: 'x', domain_name: d }] }),
        ["projects[0] (name 'eu-de')", 'domain_id', 'domain_name'],
      ],
      [
        'no domain',
        () => ({ users: [{ name: 'nobody' }] }),
        ["users[0] (name 'nobody')", 'domain_id', 'domain_name'],
      ],
      [
        'a domain name that exists nowhere',
        () => ({ users: [{ name: 'nobody', domain_name: 'no-such-domain' }] }),
        ["users[0] (name 'nobody')", "domain named 'no-such-domain' does not exist"],
      ],
      [
        'a project name that exists nowhere',
        (d) => ({
          resources: [{ project_name: 'eu-xx', domain_name: d, type: 'bms_server', name: 'a' }],
        }),
        ["resources[0] (name 'a')", "project named 'eu-xx'", 'does not exist'],
      ],
      [
        'project_name without domain_name',
        () => ({ resources: [{ project_name: 'eu-de', type: 'bms_server', name: 'a' }] }),
        ["resources[0] (name 'a')", 'project_name', 'domain_name'],
      ],
      [
        'project_id and project_name both',
        (d) => ({
          resources: [
            { project_id: 'p', project_name: 'eu-de', domain_name: d, type: 'bms_server', id: 'a' },
          ],
        }),
        ["resources[0] (id 'a')", 'project_id', 'project_name'],
      ],
      [
        'a resource with neither id nor name',
        (d) => ({ resources: [{ project_name: 'eu-de', domain_name: d, type: 'bms_server' }] }),
        ['resources[0]', "'id'", "'name'"],
      ],
      [
        'two resources without ids sharing type and name',
        (d) => ({
          resources: [
            { project_name: 'eu-de', domain_name: d, type: 'as_group', name: 'asg' },
            { project_name: 'eu-de', domain_name: d, type: 'as_group', name: 'asg' },
          ],
        }),
        ["resources[1] (name 'asg')", 'resources[0]'],
      ],
      [
        'two projects without ids sharing a name',
        (d) => ({
          projects: [
            { name: 'eu-fr', domain_name: d },
            { name: 'eu-fr', domain_name: d },
          ],
        }),
        ["projects[1] (name 'eu-fr')", 'more than once'],
      ],
    ];

    it.each(cases)('%s', async (_, make, named) => {
      const { doc, domain } = byNames();
      await load(doc);
      const before = await everything();
      const bad = make(domain) as Record<string, unknown[]>;
      // Good entries around the bad one: none of them may be applied.
      const res = await post({
        domains: [{ name: `fresh-${uid()}` }],
        ...bad,
        resources: [
          ...(bad.resources ?? []),
          { project_name: 'eu-de', domain_name: domain, type: 'mrs_cluster', name: 'late' },
        ],
      });
      const message = refusal(res);
      for (const part of named) expect(message).toContain(part);
      expect(await everything()).toEqual(before);
    });

    it.each([
      [{ users: [{ name: 'x', domain_name: 'a\u0000b' }] }, "users[0] (name 'x')", 'domain_name'],
      [{ users: [{ name: 'x', domain_id: 'd\u0000' }] }, "users[0] (name 'x')", 'domain_id'],
      [{ domains: [{ name: 'a\u0000b' }] }, 'domains[0]', 'name'],
      [
        { resources: [{ project_name: 'p\u0000', domain_name: 'd', type: 'bms_server', id: 'r' }] },
        "resources[0] (id 'r')",
        'project_name',
      ],
      [
        { resources: [{ project_id: 'p\u0000', type: 'bms_server', id: 'r' }] },
        "resources[0] (id 'r')",
        'project_id',
      ],
      [
        { resources: [{ project_id: 'p', type: 'bms_server', name: 'web\u0000' }] },
        'resources[0]',
        'name',
      ],
    ])(
      'a control character in a name or a reference (%#): 400, never a store fault',
      async (doc, ...named) => {
        const message = refusal(await post(doc));
        for (const part of named) expect(message).toContain(part);
        expect(message).toContain('control characters');
      },
    );

    it('several resources of the database with the name: the entry must give its id', async () => {
      const t = await h.tenant();
      await load({
        resources: ['a', 'b'].map((id) => ({
          project_id: t.projectId,
          type: 'bms_server',
          id,
          name: 'twin',
        })),
      });
      const message = refusal(
        await post({ resources: [{ project_id: t.projectId, type: 'bms_server', name: 'twin' }] }),
      );
      expect(message).toContain("resources[0] (name 'twin')");
      expect(message).toContain('a, b');
    });
  });
});

describe('GET /schemas/seed.json', () => {
  const readmeExample = (): unknown => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Seed documents'));
    const block = /```json\n([\s\S]*?)```/.exec(section);
    expect(block).not.toBeNull();
    return JSON.parse(block![1]!);
  };

  it('serves the JSON Schema that validates seeds, as the OpenAPI document shows it', async () => {
    const res = await h.inject({ method: 'GET', url: '/schemas/seed.json' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/schema\+json/);
    const schema = json(res) as Record<string, unknown>;
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    const openapi = json(await h.inject({ method: 'GET', url: '/openapi.json' })) as {
      paths: Record<string, { post: { requestBody: { content: Record<string, unknown> } } }>;
    };
    const { $schema: _s, $id: _i, ...rest } = schema;
    const body = openapi.paths['/admin/v1/seed']!.post.requestBody.content['application/json'] as {
      schema: unknown;
    };
    // The same schema, every field of every section described (OpenAPI spells a few keywords
    // its own way: const as enum, patternProperties as additionalProperties).
    type Node = { description?: string; properties?: Record<string, Node>; items?: Node };
    const fields = (n: Node): Record<string, string[]> =>
      Object.fromEntries(
        Object.entries(n.properties!).map(([k, v]) => [
          k,
          Object.keys(v.items!.properties!).sort(),
        ]),
      );
    expect(fields(body.schema as Node)).toEqual(fields(rest as Node));
    expect(fields(rest as Node)).toMatchObject({
      domains: ['id', 'name'],
      projects: ['domain_id', 'domain_name', 'id', 'name'],
      resources: expect.arrayContaining(['project_id', 'project_name', 'domain_name', 'id']),
    });
    expect((body.schema as Node).description).toBe((rest as Node).description);

    const check = Compile(schema as never);
    expect(check.Check(readmeExample())).toBe(true);
    expect(check.Check({ servers: [] })).toBe(false);
    expect(check.Check({ domains: [{ id: 'has space', name: 'x' }] })).toBe(false);
    expect(check.Check({ users: [{ name: 'x', domain_name: 'y', colour: 'blue' }] })).toBe(false);
  });

  it("the README's example is the schema's, and loads (twice, the same ids)", async () => {
    const example = readmeExample();
    expect(example).toEqual(SEED_EXAMPLE);
    const first = await load(example);
    expect(first.resources[1]).toBe('e5d27f5c-dd76-4a61-b4bc-a67c5686719a');
    expect(await load(example)).toEqual(first);
    expect(await canLogIn('acme', 'root', 'change-me-too', 'eu-de')).toBe(true);
  });
});
