import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKEN_LIFETIME_MS } from '../../src/auth/tokens.js';
import { ADMIN_TOKEN, createHarness, type Harness, json, type Tenant } from '../support/harness.js';

/** Identity policies decided over HTTP, with the resource and tags the engine loads. */
describe('identity policies', () => {
  let h: Harness;
  let t: Tenant;

  beforeAll(async () => {
    h = await createHarness();
    t = await h.tenant();
  });
  afterAll(() => h.close());

  const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

  /** A new IAM user of the tenant's domain with these statements, and a project token of it. */
  const newUser = async (...statements: object[]): Promise<{ id: string; token: string }> => {
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
    const id = (json(res) as { id: string }).id;
    const now = Date.now();
    const token = await h.token({
      userId: id,
      domainId: t.domainId,
      projectId: t.projectId,
      issuedAt: now,
      expiresAt: now + TOKEN_LIFETIME_MS,
    });
    return { id, token };
  };
  const userWith = async (...statements: object[]) => (await newUser(...statements)).token;

  const allow = (action: string | string[], Condition?: object) => ({
    Effect: 'Allow',
    Action: action,
    Resource: ['*'],
    ...(Condition ? { Condition } : {}),
  });
  const denyStmt = (action: string | string[], Condition?: object) => ({
    ...allow(action, Condition),
    Effect: 'Deny',
  });

  /** A BMS server with these tags in this enterprise project. */
  const server = async (tags: Record<string, string> = {}, ep = '0') => {
    const id = randomUUID();
    await h.seed({
      resources: [
        {
          project_id: t.projectId,
          type: 'bms_server',
          id,
          enterprise_project_id: ep,
          tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
        },
      ],
    });
    return id;
  };

  const call = (
    token: string,
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    body?: unknown,
  ) =>
    h.inject({
      method,
      url,
      headers: { 'x-auth-token': token, 'content-type': 'application/json' },
      ...(body !== undefined
        ? { payload: typeof body === 'string' ? body : JSON.stringify(body) }
        : {}),
    });

  const bms = (id: string) => `/v1/${t.projectId}/baremetalservers/${id}/tags`;
  const bmsAction = (token: string, id: string, action: string, tags: unknown[]) =>
    call(token, 'POST', `${bms(id)}/action`, { action, tags });
  const bmsTags = async (id: string) =>
    json(await call(t.root.token, 'GET', bms(id))) as { tags: { key: string; value: string }[] };

  const expectForbidden = (res: LightMyRequestResponse, action: string, why?: RegExp) => {
    expect(res.statusCode, res.body).toBe(403);
    const body = json(res) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('BMS.0033');
    expect(body.error.message).toContain(action);
    if (why) expect(body.error.message).toMatch(why);
  };

  const CREATE = 'bms:servers:batchCreateBaremetalServerTags';
  const DELETE = 'bms:servers:batchDeleteBaremetalServerTags';
  const SHOW = 'bms:servers:showBaremetalServerTags';
  const PUT = 'bms:servers:put';
  const GET = 'bms:servers:get';

  interface Setup {
    /** The server's current tags. */
    resource?: Record<string, string>;
    ep?: string;
    /** The tags the create request names. */
    request: Record<string, string>;
  }

  /**
   * Operator × condition key over BMS tag creation: a policy allowing the create (and its
   * dependency) under one condition; one call it allows, one it refuses.
   */
  const MATRIX: [string, string, unknown, Setup, Setup][] = [
    [
      'StringEquals',
      'g:ResourceTag/env',
      'dev',
      { resource: { env: 'dev' }, request: { a: '1' } },
      { resource: { env: 'prod' }, request: { a: '1' } },
    ],
    [
      'StringNotEquals',
      'g:ResourceTag/env',
      'prod',
      { resource: { env: 'dev' }, request: { a: '1' } },
      { resource: { env: 'prod' }, request: { a: '1' } },
    ],
    [
      'StringLike',
      'g:ResourceTag/env',
      'd*',
      { resource: { env: 'dev' }, request: { a: '1' } },
      { resource: { env: 'prod' }, request: { a: '1' } },
    ],
    [
      'StringNotLike',
      'g:ResourceTag/env',
      'p*',
      { resource: { env: 'dev' }, request: { a: '1' } },
      { resource: { env: 'prod' }, request: { a: '1' } },
    ],
    [
      'Null',
      'g:ResourceTag/locked',
      'true',
      { resource: {}, request: { a: '1' } },
      { resource: { locked: 'yes' }, request: { a: '1' } },
    ],
    [
      'ForAnyValue:StringEquals',
      'g:ResourceTag/env',
      'dev',
      { resource: { env: 'dev' }, request: { a: '1' } },
      { resource: {}, request: { a: '1' } },
    ],
    [
      'StringEquals',
      'g:RequestTag/env',
      ['dev', 'qa'],
      { request: { env: 'qa' } },
      { request: { env: 'prod' } },
    ],
    [
      'StringNotEquals',
      'g:RequestTag/env',
      'prod',
      { request: { env: 'dev' } },
      { request: { env: 'prod' } },
    ],
    [
      'StringLike',
      'g:RequestTag/env',
      'd?v',
      { request: { env: 'dav' } },
      { request: { env: 'prod' } },
    ],
    [
      'StringNotLike',
      'g:RequestTag/env',
      '*rod',
      { request: { env: 'dev' } },
      { request: { env: 'prod' } },
    ],
    [
      'Null',
      'g:RequestTag/owner',
      'false',
      { request: { owner: 'me' } },
      { request: { env: 'dev' } },
    ],
    [
      'StringEquals',
      'g:TagKeys',
      'env',
      { request: { env: 'x', b: 'y' } },
      { request: { b: 'y' } },
    ],
    [
      'StringNotEquals',
      'g:TagKeys',
      'secret',
      { request: { a: 'x' } },
      { request: { a: 'x', secret: 'y' } },
    ],
    ['StringLike', 'g:TagKeys', 'app-*', { request: { 'app-1': 'x' } }, { request: { ap: 'x' } }],
    ['StringNotLike', 'g:TagKeys', 'sys*', { request: { a: 'x' } }, { request: { system: 'x' } }],
    [
      'ForAllValues:StringEquals',
      'g:TagKeys',
      ['env', 'team'],
      { request: { env: 'a', team: 'b' } },
      { request: { env: 'a', owner: 'b' } },
    ],
    [
      'ForAllValues:StringLike',
      'g:TagKeys',
      'app-*',
      { request: { 'app-a': '1', 'app-b': '2' } },
      { request: { 'app-a': '1', x: '2' } },
    ],
    [
      'ForAnyValue:StringEquals',
      'g:TagKeys',
      'env',
      { request: { owner: 'a', env: 'b' } },
      { request: { owner: 'a' } },
    ],
    [
      'ForAnyValue:StringNotLike',
      'g:TagKeys',
      'sys*',
      { request: { sysx: 'a', app: 'b' } },
      { request: { sysx: 'a' } },
    ],
    [
      'StringEquals',
      'g:EnterpriseProjectId',
      'ep-1',
      { ep: 'ep-1', request: { a: '1' } },
      { ep: '0', request: { a: '1' } },
    ],
    [
      'StringNotEquals',
      'g:EnterpriseProjectId',
      '0',
      { ep: 'ep-1', request: { a: '1' } },
      { ep: '0', request: { a: '1' } },
    ],
    [
      'StringLike',
      'g:EnterpriseProjectId',
      'ep-*',
      { ep: 'ep-7', request: { a: '1' } },
      { ep: '0', request: { a: '1' } },
    ],
    [
      'StringNotLike',
      'g:EnterpriseProjectId',
      'ep-*',
      { ep: '0', request: { a: '1' } },
      { ep: 'ep-7', request: { a: '1' } },
    ],
    [
      'Null',
      'g:EnterpriseProjectId',
      'false',
      { ep: '0', request: { a: '1' } },
      { ep: '0', request: { a: '1' } },
    ],
  ];

  describe('each operator on each condition key allows one call and refuses another', () => {
    for (const [op, key, value, yes, no] of MATRIX) {
      it(`${op} ${key} ${JSON.stringify(value)}`, async () => {
        const condition = { [op]: { [key]: value } };
        const token = await userWith(allow([CREATE, PUT], condition));
        const tags = (s: Setup) =>
          Object.entries(s.request).map(([k, v]) => ({ key: k, value: v }));

        const ok = await server(yes.resource, yes.ep);
        expect((await bmsAction(token, ok, 'create', tags(yes))).statusCode).toBe(204);
        expect((await bmsTags(ok)).tags).toEqual(
          expect.arrayContaining(tags(yes).map((x) => expect.objectContaining(x))),
        );

        if (op === 'Null' && key === 'g:EnterpriseProjectId') {
          // Every resource has an enterprise project: only the opposite condition can refuse.
          const never = await userWith(allow([CREATE, PUT], { Null: { [key]: 'true' } }));
          const id = await server(no.resource, no.ep);
          expectForbidden(await bmsAction(never, id, 'create', tags(no)), CREATE);
          return;
        }
        const refused = await server(no.resource, no.ep);
        const before = await bmsTags(refused);
        expectForbidden(
          await bmsAction(token, refused, 'create', tags(no)),
          CREATE,
          /no identity policy allows it/,
        );
        expect(await bmsTags(refused)).toEqual(before);
      });
    }
  });

  it('an explicit Deny wins over an Allow, and names the statement', async () => {
    const token = await userWith(allow('bms:*:*'), denyStmt(DELETE));
    const id = await server({ env: 'dev' });
    expect((await bmsAction(token, id, 'create', [{ key: 'a', value: 'b' }])).statusCode).toBe(204);
    expectForbidden(
      await bmsAction(token, id, 'delete', [{ key: 'a' }]),
      DELETE,
      /explicitly denied by policies\[0\]\.Statement\[1\]/,
    );
    expect((await bmsTags(id)).tags).toContainEqual({ key: 'a', value: 'b' });
  });

  it('a conditional Deny refuses only where its condition holds', async () => {
    const token = await userWith(
      allow('*'),
      denyStmt('bms:servers:*', { StringEquals: { 'g:ResourceTag/protected': 'true' } }),
    );
    const open = await server({ protected: 'false' });
    const locked = await server({ protected: 'true' });
    expect((await bmsAction(token, open, 'create', [{ key: 'a' }])).statusCode).toBe(204);
    expectForbidden(await bmsAction(token, locked, 'create', [{ key: 'a' }]), CREATE, /explicitly/);
    expectForbidden(await call(token, 'GET', bms(locked)), SHOW, /explicitly/);
  });

  it('action wildcards grant what they match and nothing else', async () => {
    for (const pattern of ['*', '*:*:*', 'bms:*:*', 'bms:servers:*', 'BMS:SERVERS:*']) {
      const token = await userWith(allow(pattern));
      const id = await server();
      expect((await bmsAction(token, id, 'create', [{ key: 'k' }])).statusCode, pattern).toBe(204);
      expect((await call(token, 'GET', bms(id))).statusCode, pattern).toBe(200);
    }
    const partial = await userWith(allow(['bms:servers:batch*', PUT]));
    const id = await server();
    expect((await bmsAction(partial, id, 'create', [{ key: 'k' }])).statusCode).toBe(204);
    expect((await bmsAction(partial, id, 'delete', [{ key: 'k' }])).statusCode).toBe(204);
    expectForbidden(await call(partial, 'GET', bms(id)), SHOW);
    const other = await userWith(allow('ddm:*:*'));
    expectForbidden(await bmsAction(other, id, 'create', [{ key: 'k' }]), CREATE);
  });

  describe('the BMS dependency: tag writes also need bms:servers:put', () => {
    it('create without bms:servers:put is refused, naming it', async () => {
      const token = await userWith(allow(CREATE));
      const id = await server();
      expectForbidden(
        await bmsAction(token, id, 'create', [{ key: 'k' }]),
        `${PUT} (which ${CREATE} depends on)`,
        /no identity policy allows it/,
      );
      expect((await bmsTags(id)).tags).toEqual([]);
    });

    it('bms:servers:put alone grants nothing', async () => {
      const token = await userWith(allow(PUT));
      const id = await server();
      expectForbidden(await bmsAction(token, id, 'create', [{ key: 'k' }]), CREATE);
    });

    it('both grant create; delete needs its own action with put', async () => {
      const token = await userWith(allow([CREATE, PUT]));
      const id = await server();
      expect((await bmsAction(token, id, 'create', [{ key: 'k' }])).statusCode).toBe(204);
      expectForbidden(await bmsAction(token, id, 'delete', [{ key: 'k' }]), DELETE);
      const deleter = await userWith(allow([DELETE, PUT]));
      expect((await bmsAction(deleter, id, 'delete', [{ key: 'k' }])).statusCode).toBe(204);
    });

    it('a Deny on the dependency refuses the write, and conditions apply to it too', async () => {
      const denied = await userWith(allow('bms:*:*'), denyStmt(PUT));
      const id = await server({ env: 'prod' });
      expectForbidden(
        await bmsAction(denied, id, 'create', [{ key: 'k' }]),
        `${PUT} (which ${CREATE} depends on)`,
        /explicitly denied/,
      );
      const conditional = await userWith(
        allow(CREATE),
        allow(PUT, { StringEquals: { 'g:ResourceTag/env': 'dev' } }),
      );
      expectForbidden(await bmsAction(conditional, id, 'create', [{ key: 'k' }]), PUT);
      const dev = await server({ env: 'dev' });
      expect((await bmsAction(conditional, dev, 'create', [{ key: 'k' }])).statusCode).toBe(204);
    });

    it('listing needs bms:servers:showBaremetalServerTags and the bms:servers:get it depends on', async () => {
      const id = await server({ a: 'b' });
      expectForbidden(await call(await userWith(allow(SHOW)), 'GET', bms(id)), GET);
      expectForbidden(await call(await userWith(allow(GET)), 'GET', bms(id)), SHOW);
      const res = await call(await userWith(allow([SHOW, GET])), 'GET', bms(id));
      expect(res.statusCode).toBe(200);
      expect(json(res)).toEqual({ tags: [{ key: 'a', value: 'b' }] });
    });
  });

  describe('what the condition keys mean on deletes', () => {
    it('g:TagKeys is the keys named for deletion', async () => {
      const token = await userWith(
        allow([DELETE, PUT], { 'ForAllValues:StringLike': { 'g:TagKeys': 'tmp-*' } }),
      );
      const id = await server({ 'tmp-a': '1', 'tmp-b': '2', env: 'prod' });
      expect(
        (await bmsAction(token, id, 'delete', [{ key: 'tmp-a' }, { key: 'tmp-b' }])).statusCode,
      ).toBe(204);
      expectForbidden(await bmsAction(token, id, 'delete', [{ key: 'env' }]), DELETE);
      expect((await bmsTags(id)).tags).toEqual([{ key: 'env', value: 'prod' }]);
    });

    it('g:RequestTag/<key> of a delete by key alone is the value being deleted', async () => {
      const token = await userWith(
        allow([DELETE, PUT]),
        denyStmt(DELETE, { StringEquals: { 'g:RequestTag/env': 'prod' } }),
      );
      const prod = await server({ env: 'prod' });
      expectForbidden(
        await bmsAction(token, prod, 'delete', [{ key: 'env' }]),
        DELETE,
        /explicitly/,
      );
      const dev = await server({ env: 'dev' });
      expect((await bmsAction(token, dev, 'delete', [{ key: 'env' }])).statusCode).toBe(204);
    });
  });

  describe('refusal comes before the body is validated when nothing could allow the call', () => {
    it('a user without a matching Allow gets 403, not 400, for a malformed body', async () => {
      const token = await userWith(allow('ddm:*:*'));
      const id = await server();
      const res = await call(token, 'POST', `${bms(id)}/action`, '{not json');
      expectForbidden(res, `${CREATE} or ${DELETE}`);
    });

    it('an unconditional Deny refuses before the body is read', async () => {
      const token = await userWith(allow('*'), denyStmt('bms:servers:*'));
      const res = await call(token, 'POST', `${bms(await server())}/action`, '{not json');
      expectForbidden(res, CREATE, /explicitly denied/);
    });

    it('a user who could be allowed gets the validation error', async () => {
      const token = await userWith(
        allow([CREATE, PUT], { StringEquals: { 'g:ResourceTag/x': 'y' } }),
      );
      const res = await call(token, 'POST', `${bms(await server())}/action`, '{not json');
      expect(res.statusCode).toBe(400);
      expect((json(res) as { error: { code: string } }).error.code).toBe('BMS.0001');
    });

    it('the batch action is checked as soon as it is known, before the tags are', async () => {
      const token = await userWith(allow([CREATE, PUT]));
      const res = await bmsAction(token, await server(), 'delete', [{ key: 'bad|key' }, 7]);
      expectForbidden(res, DELETE);
    });
  });

  describe("every service answers a policy's refusal in its own envelope with its code, naming the action", () => {
    const cases: [
      string,
      'GET' | 'POST' | 'PUT' | 'DELETE',
      (id: string) => string,
      object | undefined,
      string,
      (b: unknown) => [string, string],
    ][] = [
      [
        'ddm_instance',
        'POST',
        (id) => `/v3/${'P'}/instances/${id}/tags/create`,
        { tags: [{ key: 'a', value: 'b' }] },
        'ddm:instance:createTags',
        flat,
      ],
      [
        'ddm_instance',
        'POST',
        (id) => `/v3/${'P'}/instances/${id}/tags/delete`,
        { tags: [{ key: 'a' }] },
        'ddm:instance:deleteTags',
        flat,
      ],
      [
        'ddm_instance',
        'PUT',
        (id) => `/v3/${'P'}/instances/${id}/tags/a`,
        { value: 'b' },
        'ddm:instance:createTags',
        flat,
      ],
      [
        'ddm_instance',
        'GET',
        (id) => `/v3/${'P'}/instances/${id}/tags`,
        undefined,
        'ddm:instance:listTags',
        flat,
      ],
      [
        'as_group',
        'POST',
        (id) => `/autoscaling-api/v1/${'P'}/scaling_group_tag/${id}/tags/action`,
        { action: 'create', tags: [{ key: 'a' }] },
        'as:groups:createTags',
        nested,
      ],
      [
        'as_group',
        'POST',
        (id) => `/autoscaling-api/v1/${'P'}/scaling_group_tag/${id}/tags/action`,
        { action: 'delete', tags: [{ key: 'a' }] },
        'as:groups:deleteTags',
        nested,
      ],
      [
        'as_group',
        'GET',
        (id) => `/autoscaling-api/v1/${'P'}/scaling_group_tag/${id}/tags`,
        undefined,
        'as:groups:listTags',
        nested,
      ],
      [
        'mrs_cluster',
        'POST',
        (id) => `/v1.1/${'P'}/clusters/${id}/tags/action`,
        { action: 'create', tags: [{ key: 'a', value: 'b' }] },
        'mrs:cluster:batchCreateTags',
        flat,
      ],
      [
        'mrs_cluster',
        'POST',
        (id) => `/v1.1/${'P'}/clusters/${id}/tags/action`,
        { action: 'delete', tags: [{ key: 'a' }] },
        'mrs:cluster:batchDeleteTags',
        flat,
      ],
      [
        'mrs_cluster',
        'POST',
        (id) => `/v1.1/${'P'}/clusters/${id}/tags`,
        { tag: { key: 'a', value: 'b' } },
        'mrs:cluster:batchCreateTags',
        flat,
      ],
      [
        'mrs_cluster',
        'DELETE',
        (id) => `/v1.1/${'P'}/clusters/${id}/tags/a`,
        undefined,
        'mrs:cluster:batchDeleteTags',
        flat,
      ],
      [
        'mrs_cluster',
        'GET',
        (id) => `/v1.1/${'P'}/clusters/${id}/tags`,
        undefined,
        'mrs:cluster:listTags',
        flat,
      ],
      [
        'bms_server',
        'GET',
        (id) => `/v1/${'P'}/baremetalservers/${id}/tags`,
        undefined,
        SHOW,
        nested,
      ],
    ];
    const refusals: Record<string, [number, string]> = {
      ddm_instance: [403, 'DBS.200003'],
      as_group: [403, 'AS.0011'],
      // MRS answers an IAM policy's refusal 401 12000136.
      mrs_cluster: [401, '12000136'],
      bms_server: [403, 'BMS.0033'],
    };
    /** Actions an operation's action depends on. */
    const dependencies: Record<string, string[]> = { [SHOW]: [GET] };
    function flat(b: unknown): [string, string] {
      const x = b as { error_code: string; error_msg: string };
      expect(Object.keys(x).sort()).toEqual(['error_code', 'error_msg']);
      return [x.error_code, x.error_msg];
    }
    function nested(b: unknown): [string, string] {
      const x = b as { error: { code: string; message: string } };
      expect(Object.keys(x)).toEqual(['error']);
      return [x.error.code, x.error.message];
    }

    for (const [type, method, path, body, action, read] of cases) {
      it(`${method} ${path('{id}')} needs ${action}`, async () => {
        const id = await t.resource(type as Parameters<Tenant['resource']>[0], [
          { key: 'a', value: 'b' },
        ]);
        const url = path(id).replace('/P/', `/${t.projectId}/`);
        // An Allow for every other action of every service: only this one is missing.
        const token = await userWith(allow('*'), denyStmt(action));
        const res = await call(token, method, url, body);
        const [status, expected] = refusals[type]!;
        expect(res.statusCode, res.body).toBe(status);
        const [code, message] = read(json(res));
        expect(code).toBe(expected);
        expect(message).toContain(action);
        const granted = await userWith(allow([action, ...(dependencies[action] ?? [])]));
        expect((await call(granted, method, url, body)).statusCode).toBeLessThan(300);
      });
    }
  });

  it('ModelArts supernode tag operations need no permission, whatever the policies', async () => {
    const token = await userWith(denyStmt('*'));
    const id = await t.resource('modelarts_hyperinstance');
    const base = `/v1/${t.projectId}/dev-servers/hyperinstance/${id}/tags`;
    expect(
      (await call(token, 'POST', `${base}/create`, { tags: [{ key: 'k', value: 'v' }] }))
        .statusCode,
    ).toBe(200);
    expect((await call(token, 'GET', base)).statusCode).toBe(200);
    expect(
      (await call(token, 'POST', `${base}/delete`, { tags: [{ key: 'k', value: 'v' }] }))
        .statusCode,
    ).toBe(200);
  });

  it('the root user is not bound by policies, an IAM user without policies is refused', async () => {
    const id = await server();
    expect((await bmsAction(t.root.token, id, 'create', [{ key: 'k' }])).statusCode).toBe(204);
    expectForbidden(
      await bmsAction(t.iamUser.token, id, 'create', [{ key: 'k' }]),
      CREATE,
      /no identity policy allows it/,
    );
  });

  it('policies take effect as soon as they are changed through the admin API', async () => {
    const { id: userId, token } = await newUser(allow(SHOW));
    const id = await server();
    expectForbidden(await bmsAction(token, id, 'create', [{ key: 'k' }]), CREATE);
    const attach = await h.inject({
      method: 'POST',
      url: `/admin/v1/users/${userId}/policies`,
      headers: admin,
      payload: JSON.stringify({ Version: '5.0', Statement: [allow([CREATE, PUT])] }),
    });
    expect(attach.statusCode).toBe(200);
    expect((await bmsAction(token, id, 'create', [{ key: 'k' }])).statusCode).toBe(204);
    const detach = await h.inject({
      method: 'PUT',
      url: `/admin/v1/users/${userId}/policies`,
      headers: admin,
      payload: JSON.stringify({ policies: [] }),
    });
    expect(detach.statusCode).toBe(200);
    expectForbidden(await call(token, 'GET', bms(id)), SHOW);
  });
});
