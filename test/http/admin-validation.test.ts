import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, createHarness, type Harness, json, type Tenant } from '../support/harness.js';
import { signed } from '../support/signing.js';

/**
 * How the admin and IAM routes answer requests their schemas refuse: the exact messages, what
 * null stands for, and that credentials are checked before anything else.
 */
describe('admin API: request validation', () => {
  let h: Harness;
  let t: Tenant;

  beforeAll(async () => {
    h = await createHarness();
    t = await h.tenant();
  });
  afterAll(() => h.close());

  const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
  const send = (method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown) =>
    h.inject({
      method,
      url,
      headers: admin,
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    });
  const refusal = async (res: Awaited<ReturnType<typeof send>>) => {
    expect(res.statusCode, res.body).toBe(400);
    const body = json(res) as { error_code: string; error_msg: string };
    expect(body.error_code).toBe('ADMIN.0400');
    return body.error_msg;
  };

  const server = (u: string) => ({
    project_id: t.projectId,
    type: 'bms_server',
    id: `srv-${u}`,
  });

  it('names the entry and the field of a seed that breaks its schema', async () => {
    const user = { id: 'u-v1', name: 'v1', domain_id: t.domainId };
    const cases: [unknown, string][] = [
      [{ domains: {} }, "'domains' must be an array."],
      [
        { servers: [] },
        "seed: unknown field 'servers' (expected: domains, projects, users, resources).",
      ],
      [{ domains: ['d'] }, 'domains[0]: must be an object.'],
      [{ domains: [{ id: 'd-v1' }] }, "domains[0] (id 'd-v1'): 'name' is required."],
      [
        { domains: [{ id: 'd v1', name: 'x' }] },
        "domains[0] (id 'd v1'): 'id' \"d v1\" must be 1–64 characters of A-Z a-z 0-9 _ -.",
      ],
      [
        { projects: [{ id: 'p-v1', name: 'a\nb', domain_id: t.domainId }] },
        "projects[0] (id 'p-v1'): 'name' \"a\\nb\" must be 1–64 characters without control characters.",
      ],
      [
        { users: [{ ...user, root: 'yes' }] },
        "users[0] (id 'u-v1'): 'root' must be true or false.",
      ],
      [
        { users: [{ ...user, password: '' }] },
        "users[0] (id 'u-v1'): 'password' must not be empty.",
      ],
      [
        { users: [{ ...user, policies: {} }] },
        "users[0] (id 'u-v1'): 'policies' must be an array.",
      ],
      [
        { users: [{ ...user, access_keys: [null] }] },
        "users[0] (id 'u-v1').access_keys[0]: must be an object with access_key and secret_key.",
      ],
      [
        { users: [{ ...user, access_keys: [{ access_key: 'AK-V1', secret_key: 'whatever-1' }] }] },
        "users[0] (id 'u-v1').access_keys[0]: 'access_key' \"AK-V1\" must be 4–128 letters and digits.",
      ],
      [
        { resources: [{ ...server('v1'), name: 5 }] },
        "resources[0] (id 'srv-v1'): 'name' must be a string.",
      ],
      [
        { resources: [{ ...server('v1'), type: 'ecs_server' }] },
        "resources[0] (id 'srv-v1'): 'type' \"ecs_server\" is not a resource type (expected one of modelarts_hyperinstance, bms_server, ddm_instance, as_group, mrs_cluster).",
      ],
      [
        { resources: [{ ...server('v1'), tags: 'x' }] },
        "resources[0] (id 'srv-v1'): The 'tags' field must be an array of tag objects. (Bare Metal Server rules)",
      ],
    ];
    for (const [doc, message] of cases) {
      expect(await refusal(await send('POST', '/admin/v1/seed', doc)), JSON.stringify(doc)).toBe(
        message,
      );
    }
  });

  it('takes a seed field given as null for one left out', async () => {
    const res = await send('POST', '/admin/v1/seed', {
      domains: null,
      users: [
        {
          id: 'u-null',
          name: 'null-fields',
          domain_id: t.domainId,
          root: null,
          password: null,
          access_keys: null,
          policies: null,
        },
      ],
      resources: [{ ...server('null'), name: null, enterprise_project_id: null, tags: null }],
    });
    expect(res.statusCode, res.body).toBe(200);
    const listed = json(await send('GET', `/admin/v1/projects/${t.projectId}/resources`)) as {
      resources: { id: string; name: string; enterprise_project_id: string }[];
    };
    expect(listed.resources.find((r) => r.id === 'srv-null')).toMatchObject({
      name: '',
      enterprise_project_id: '0',
    });
    const missing = await send('POST', '/admin/v1/seed', {
      domains: [{ id: 'd-null-name', name: null }],
    });
    expect(await refusal(missing)).toBe("domains[0] (id 'd-null-name'): 'name' is required.");
  });

  it('counts a resource id in UTF-16 code units, in the seed and in the path', async () => {
    const wide = '😀'.repeat(65);
    const seeded = await send('POST', '/admin/v1/seed', {
      resources: [{ ...server('wide'), id: wide }],
    });
    expect(await refusal(seeded)).toContain(
      'must be 1–128 characters without / or control characters.',
    );
    const put = await send(
      'PUT',
      `/admin/v1/projects/${t.projectId}/resources/bms_server/${encodeURIComponent(wide)}`,
      { name: 42 },
    );
    // The id is refused before the body is looked at.
    expect(await refusal(put)).toBe('The resource id must be 1–128 characters.');
    const fits = await send(
      'PUT',
      `/admin/v1/projects/${t.projectId}/resources/bms_server/${encodeURIComponent('😀'.repeat(64))}`,
    );
    expect(fits.statusCode, fits.body).toBe(200);
  });

  it('refuses bad user bodies in the admin API words, null standing for "not given" where it did', async () => {
    const cases: [unknown, string][] = [
      [{ name: 'x', domain_id: t.domainId, id: 5 }, "'id' must be a string."],
      [{ name: '', domain_id: t.domainId }, "'name' is required: 1–64 characters."],
      [{ name: null, domain_id: t.domainId }, "'name' is required: 1–64 characters."],
      [{ name: 'x', domain_id: null }, "'domain_id' is required."],
      [
        { name: 'x', domain_id: t.domainId, policies: null },
        "'policies' must be an array of policy documents.",
      ],
      [
        { name: 'x', domain_id: t.domainId, password: 'p'.repeat(1025) },
        "'password' must be a non-empty string of at most 1024 characters.",
      ],
    ];
    for (const [body, message] of cases) {
      expect(await refusal(await send('POST', '/admin/v1/users', body)), JSON.stringify(body)).toBe(
        message,
      );
    }
    const created = await send('POST', '/admin/v1/users', {
      id: null,
      name: 'null-id',
      domain_id: t.domainId,
      root: null,
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(json(created)).toMatchObject({
      id: expect.stringMatching(/^[0-9a-f]{32}$/),
      root: false,
    });
    expect(
      await refusal(await send('PUT', `/admin/v1/users/${t.iamUser.id}/password`, { password: 3 })),
    ).toBe("'password' must be a non-empty string of at most 1024 characters.");
    expect(await refusal(await send('PUT', `/admin/v1/users/${t.iamUser.id}/policies`, {}))).toBe(
      "'policies' must be an array of policy documents.",
    );
  });

  it('refuses a query parameter given twice with 400, not a failure', async () => {
    const users = await send('GET', `/admin/v1/users?domain_id=${t.domainId}&domain_id=x`);
    expect(await refusal(users)).toBe("'domain_id' must be a string.");
    const listed = await send(
      'GET',
      `/admin/v1/projects/${t.projectId}/resources?type=bms_server&type=as_group`,
    );
    expect(await refusal(listed)).toBe(
      "Unknown resource type 'bms_server,as_group'; expected one of modelarts_hyperinstance, bms_server, ddm_instance, as_group, mrs_cluster.",
    );
  });

  it('checks credentials before the request: 401 whatever is wrong with it', async () => {
    const res = await h.inject({
      method: 'POST',
      url: '/admin/v1/users',
      headers: { 'content-type': 'application/json' },
      payload: '{"name":',
    });
    expect(res.statusCode).toBe(401);
    expect((json(res) as { error_code: string }).error_code).toBe('APIG.0301');
    const projects = await h.inject({
      method: 'GET',
      url: '/v3/projects?name=a&name=b',
      headers: {},
    });
    expect(projects.statusCode).toBe(401);
    const signedTwice = await h.inject(
      signed({ method: 'GET', url: '/v3/projects?name=a&name=b', headers: {} }, t.root),
    );
    expect(signedTwice.statusCode).toBe(400);
    expect(json(signedTwice)).toEqual({
      error: {
        code: 400,
        message: 'Request parameter name is invalid: give it once.',
        title: 'Bad Request',
      },
    });
  });

  it("loads the example of the seed's schema, as the OpenAPI document shows it", async () => {
    const doc = json(await h.inject({ method: 'GET', url: '/openapi.json' })) as {
      paths: Record<
        string,
        { post: { requestBody: { content: Record<string, { example: unknown }> } } }
      >;
    };
    const example =
      doc.paths['/admin/v1/seed']!.post.requestBody.content['application/json']!.example;
    expect(example).toBeDefined();
    const res = await send('POST', '/admin/v1/seed', example);
    expect(res.statusCode, res.body).toBe(200);
    // Parents named by name, ids generated where the example gives none.
    const hex32 = expect.stringMatching(/^[0-9a-f]{32}$/);
    expect(json(res)).toEqual({
      ids: {
        domains: [hex32],
        projects: [hex32],
        users: [hex32, hex32],
        resources: [
          expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
          'e5d27f5c-dd76-4a61-b4bc-a67c5686719a',
        ],
      },
    });
  });
});
