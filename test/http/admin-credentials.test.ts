import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, createHarness, type Harness, json, type Tenant } from '../support/harness.js';
import { sdkSigned } from '../support/sdk.js';

interface UserView {
  id: string;
  name: string;
  domain_id: string;
  root: boolean;
  password_set: boolean;
  policies: unknown[];
  access_keys: { access_key: string; user_id: string; created_at: string }[];
  created_at: string;
}

/** Users, policies and access keys through the admin API. */
describe('admin API: credentials', () => {
  let h: Harness;
  let t: Tenant;

  beforeAll(async () => {
    h = await createHarness();
    t = await h.tenant();
  });
  afterAll(() => h.close());

  const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
  const req = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown) =>
    h.inject({
      method,
      url,
      headers: admin,
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    });

  const policy = {
    Version: '5.0',
    Statement: [
      {
        Effect: 'Allow',
        Action: ['bms:servers:*'],
        Resource: ['*'],
        Condition: { StringEquals: { 'g:ResourceTag/env': 'dev' } },
      },
    ],
  };

  const createUser = async (extra: object = {}) => {
    const res = await req('POST', '/admin/v1/users', {
      name: `dev-${randomUUID().slice(0, 8)}`,
      domain_id: t.domainId,
      ...extra,
    });
    expect(res.statusCode, res.body).toBe(201);
    return json(res) as UserView;
  };

  const createKey = async (userId: string) => {
    const res = await req('POST', `/admin/v1/users/${userId}/access-keys`);
    expect(res.statusCode, res.body).toBe(201);
    return json(res) as { access_key: string; secret_key: string; user_id: string };
  };

  it('creates a user with a password and policies; the answer shows neither hash nor password', async () => {
    const res = await req('POST', '/admin/v1/users', {
      id: 'u-created-1',
      name: 'alice',
      domain_id: t.domainId,
      password: 'correct horse battery',
      policies: [policy],
    });
    expect(res.statusCode).toBe(201);
    const user = json(res) as UserView;
    expect(user).toEqual({
      id: 'u-created-1',
      name: 'alice',
      domain_id: t.domainId,
      root: false,
      password_set: true,
      policies: [policy],
      access_keys: [],
      created_at: expect.any(String),
    });
    expect(res.body).not.toContain('correct horse');
    expect(res.body).not.toContain('scrypt');

    // The password works for a token, and is stored hashed.
    const token = await h.inject({
      method: 'POST',
      url: '/v3/auth/tokens',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({
        auth: {
          identity: {
            methods: ['password'],
            password: {
              user: {
                name: 'alice',
                password: 'correct horse battery',
                domain: { id: t.domainId },
              },
            },
          },
          scope: { project: { id: t.projectId } },
        },
      }),
    });
    expect(token.statusCode).toBe(201);
    const row = await h.store.db
      .selectFrom('users')
      .select('password_hash')
      .where('id', '=', 'u-created-1')
      .executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^scrypt\$/);
    expect(row.password_hash).not.toContain('correct horse');
  });

  it('generates an id when none is given', async () => {
    const user = await createUser();
    expect(user.id).toMatch(/^[0-9a-f]{32}$/);
    expect(user.password_set).toBe(false);
  });

  it('refuses bad users with a clear error and writes nothing', async () => {
    const cases: [object, number, RegExp][] = [
      [{ name: 'x', domain_id: 'd-none' }, 404, /Domain 'd-none' does not exist/],
      [{ domain_id: t.domainId }, 400, /'name' is required/],
      [{ name: 'x' }, 400, /'domain_id' is required/],
      [{ name: 'x', domain_id: t.domainId, id: 'bad id' }, 400, /'id' must be/],
      [{ name: 'x', domain_id: t.domainId, root: 'yes' }, 400, /'root' must be true or false/],
      [{ name: 'x', domain_id: t.domainId, password: '' }, 400, /'password' must be a non-empty/],
      [{ name: 'x', domain_id: t.domainId, colour: 'red' }, 400, /Unknown field 'colour'/],
      [{ name: 'x', domain_id: t.domainId, policies: {} }, 400, /'policies' must be an array/],
      [
        {
          name: 'x',
          domain_id: t.domainId,
          policies: [policy, { Statement: [{ Effect: 'Permit', Action: '*' }] }],
        },
        400,
        /policies\[1\]\.Statement\[0\]: 'Effect' must be "Allow" or "Deny"/,
      ],
      [{ name: t.iamUser.name, domain_id: t.domainId }, 409, /already has a user named/],
      [{ id: t.iamUser.id, name: 'other', domain_id: t.domainId }, 409, /User '.+' already exists/],
    ];
    const before = (
      json(await req('GET', `/admin/v1/users?domain_id=${t.domainId}`)) as { users: unknown[] }
    ).users.length;
    for (const [body, status, message] of cases) {
      const res = await req('POST', '/admin/v1/users', body);
      expect(res.statusCode, JSON.stringify(body)).toBe(status);
      const err = json(res) as Record<string, string>;
      expect(err.error_code).toBe(`ADMIN.0${status}`);
      expect(err.error_msg).toMatch(message);
    }
    const after = (
      json(await req('GET', `/admin/v1/users?domain_id=${t.domainId}`)) as { users: unknown[] }
    ).users.length;
    expect(after).toBe(before);
  });

  it('needs the admin token', async () => {
    for (const headers of [
      {},
      { authorization: 'Bearer wrong' },
      { 'x-auth-token': t.root.token },
    ]) {
      const res = await h.inject({ method: 'GET', url: '/admin/v1/users', headers });
      expect(res.statusCode).toBe(401);
      expect((json(res) as { error_code: string }).error_code).toBe('APIG.0301');
    }
  });

  it('creates access keys whose secret is shown once, stored sealed, never listed', async () => {
    const user = await createUser({ policies: [policy] });
    const key = await createKey(user.id);
    expect(key.access_key).toMatch(/^[A-Z0-9]{20}$/);
    expect(key.secret_key).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(key.user_id).toBe(user.id);

    const listed = await req('GET', `/admin/v1/users/${user.id}/access-keys`);
    expect(json(listed)).toEqual({
      access_keys: [
        { access_key: key.access_key, user_id: user.id, created_at: expect.any(String) },
      ],
    });
    const shown = await req('GET', `/admin/v1/users/${user.id}`);
    const all = await req('GET', '/admin/v1/users');
    for (const res of [listed, shown, all]) {
      expect(res.body).not.toContain(key.secret_key);
      expect(res.body).not.toContain('v1:');
      expect(res.body).not.toContain('scrypt');
    }
    expect((json(shown) as UserView).access_keys.map((k) => k.access_key)).toEqual([
      key.access_key,
    ]);

    const row = await h.store.db
      .selectFrom('access_keys')
      .select('secret_ciphertext')
      .where('access_key', '=', key.access_key)
      .executeTakeFirstOrThrow();
    expect(row.secret_ciphertext).toMatch(/^v1:/);
    expect(row.secret_ciphertext).not.toContain(key.secret_key);

    // The key signs requests, and the user's policies decide them.
    const server = await t.resource('bms_server', [{ key: 'env', value: 'dev' }]);
    const signed = sdkSigned({
      method: 'GET',
      path: `/v1/${t.projectId}/baremetalservers/${server}/tags`,
      accessKey: key.access_key,
      secretKey: key.secret_key,
      projectId: t.projectId,
    });
    const res = await h.inject(signed);
    expect(res.statusCode).toBe(200);
    expect(json(res)).toEqual({ tags: [{ key: 'env', value: 'dev' }] });
  });

  it('deletes access keys', async () => {
    const user = await createUser();
    const [a, b] = [await createKey(user.id), await createKey(user.id)];
    expect(
      (await req('DELETE', `/admin/v1/users/${user.id}/access-keys/${a.access_key}`)).statusCode,
    ).toBe(204);
    const again = await req('DELETE', `/admin/v1/users/${user.id}/access-keys/${a.access_key}`);
    expect(again.statusCode).toBe(404);
    expect((json(again) as { error_msg: string }).error_msg).toMatch(/has no access key/);
    // Another user's key cannot be deleted through this user.
    const other = await createUser();
    expect(
      (await req('DELETE', `/admin/v1/users/${other.id}/access-keys/${b.access_key}`)).statusCode,
    ).toBe(404);
    expect(
      (
        json(await req('GET', `/admin/v1/users/${user.id}/access-keys`)) as {
          access_keys: { access_key: string }[];
        }
      ).access_keys.map((k) => k.access_key),
    ).toEqual([b.access_key]);
  });

  it('attaches, replaces and validates policies', async () => {
    const user = await createUser();
    const attached = await req('POST', `/admin/v1/users/${user.id}/policies`, policy);
    expect(attached.statusCode).toBe(200);
    expect((json(attached) as UserView).policies).toEqual([policy]);
    const twice = await req('POST', `/admin/v1/users/${user.id}/policies`, policy);
    expect((json(twice) as UserView).policies).toHaveLength(2);

    const bad = await req('POST', `/admin/v1/users/${user.id}/policies`, {
      Version: '5.0',
      Statement: [{ Effect: 'Allow', Action: '*', Condition: { StringEquals: { 'g:Nope': 'x' } } }],
    });
    expect(bad.statusCode).toBe(400);
    expect((json(bad) as { error_msg: string }).error_msg).toMatch(
      /policy\.Statement\[0\]\.Condition\.StringEquals: unknown condition key 'g:Nope'/,
    );

    const replaced = await req('PUT', `/admin/v1/users/${user.id}/policies`, { policies: [] });
    expect((json(replaced) as UserView).policies).toEqual([]);
    const missing = await req('PUT', '/admin/v1/users/u-none/policies', { policies: [] });
    expect(missing.statusCode).toBe(404);
  });

  it('sets a password', async () => {
    const user = await createUser();
    const res = await req('PUT', `/admin/v1/users/${user.id}/password`, {
      password: 's3cret pass',
    });
    expect(res.statusCode).toBe(204);
    expect((json(await req('GET', `/admin/v1/users/${user.id}`)) as UserView).password_set).toBe(
      true,
    );
    expect(
      (await req('PUT', `/admin/v1/users/${user.id}/password`, { password: 3 })).statusCode,
    ).toBe(400);
  });

  it('deletes a user: its keys and tokens stop working', async () => {
    const user = await createUser({ root: true });
    const key = await createKey(user.id);
    const server = await t.resource('bms_server');
    const signed = () =>
      sdkSigned({
        method: 'GET',
        path: `/v1/${t.projectId}/baremetalservers/${server}/tags`,
        accessKey: key.access_key,
        secretKey: key.secret_key,
        projectId: t.projectId,
      });
    const now = Date.now();
    const token = await h.token({
      userId: user.id,
      domainId: t.domainId,
      projectId: t.projectId,
      issuedAt: now,
      expiresAt: now + 60_000,
    });
    expect((await h.inject(signed())).statusCode).toBe(200);

    expect((await req('DELETE', `/admin/v1/users/${user.id}`)).statusCode).toBe(204);
    expect((await req('DELETE', `/admin/v1/users/${user.id}`)).statusCode).toBe(404);
    expect((await req('GET', `/admin/v1/users/${user.id}`)).statusCode).toBe(404);
    expect((await h.inject(signed())).statusCode).toBe(401);
    const byToken = await h.inject({
      method: 'GET',
      url: `/v1/${t.projectId}/baremetalservers/${server}/tags`,
      headers: { 'x-auth-token': token },
    });
    expect(byToken.statusCode).toBe(401);
  });

  it('lists users of a domain without secrets', async () => {
    const res = await req('GET', `/admin/v1/users?domain_id=${t.domainId}`);
    expect(res.statusCode).toBe(200);
    const users = (json(res) as { users: UserView[] }).users;
    expect(users.map((u) => u.id)).toEqual(expect.arrayContaining([t.root.id, t.iamUser.id]));
    expect(users.every((u) => u.domain_id === t.domainId)).toBe(true);
    for (const secret of [
      t.root.secretKey,
      t.root.password,
      t.iamUser.secretKey,
      t.iamUser.password,
    ]) {
      expect(res.body).not.toContain(secret);
    }
  });

  it('the seed validates policies too, naming the entry', async () => {
    const res = await h.inject({
      method: 'POST',
      url: '/admin/v1/seed',
      headers: admin,
      payload: JSON.stringify({
        users: [
          {
            id: 'u-seeded-bad',
            name: 'bad',
            domain_id: t.domainId,
            policies: [
              {
                Version: '5.0',
                Statement: [{ Effect: 'Allow', Action: 'bms:servers:*', Resource: 'x' }],
              },
            ],
          },
        ],
      }),
    });
    expect(res.statusCode).toBe(400);
    expect((json(res) as { error_msg: string }).error_msg).toBe(
      "users[0] (id 'u-seeded-bad').policies[0].Statement[0]: resource 'x' is not supported; use \"*\" and narrow access with conditions (g:ResourceTag/<key>, g:EnterpriseProjectId).",
    );
    expect((await req('GET', '/admin/v1/users/u-seeded-bad')).statusCode).toBe(404);
  });

  it('racing creations of one user name or one id: exactly one 201, the others 409, one user stored', async () => {
    for (const race of ['name', 'id'] as const) {
      const tag = randomUUID().slice(0, 8);
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          req('POST', '/admin/v1/users', {
            id: race === 'id' ? `u-race-${tag}` : `u-race-${tag}-${i}`,
            name: race === 'name' ? `racer-${tag}` : `racer-${tag}-${i}`,
            domain_id: t.domainId,
          }),
        ),
      );
      const statuses = answers.map((res) => res.statusCode).sort();
      expect(statuses, `${race}: ${answers.map((res) => res.body).join('\n')}`).toEqual([
        201, 409, 409, 409, 409, 409, 409, 409,
      ]);
      const listed = (
        json(await req('GET', `/admin/v1/users?domain_id=${t.domainId}`)) as { users: UserView[] }
      ).users.filter((u) => u.name.startsWith(`racer-${tag}`));
      expect(listed).toHaveLength(1);
      const winner = json(answers.find((res) => res.statusCode === 201)!) as UserView;
      expect(listed[0]!.id).toBe(winner.id);
      expect(listed[0]!.name).toBe(winner.name);
    }
  });
});
