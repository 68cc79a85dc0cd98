import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, type Tenant } from '../../support/harness.js';
import type { RouteRequest } from '../../support/routes.js';
import { MRS, sortTags, tagsN } from '../../support/service-spec.js';
import { signed, withToken } from '../../support/signing.js';
import { type Response, TagApi } from '../../support/tag-api.js';
import { astral, CONTROL_CHARS, chars, cjk } from '../../support/text-samples.js';

/** SPEC §3.5: MRS cluster tags, API v1.1. */

const MALFORMED = '12000002';
const TOO_MANY = '12005001';
const INVALID = '12005002';
const NOT_FOUND = '12000003';
const NO_SUCH_TAG = '12005003';
const FORBIDDEN = '=*<>\\,|/';

let h: Harness;
let t: Tenant;
let api: TagApi;

beforeAll(async () => {
  h = await createHarness();
  t = await h.tenant();
  api = new TagApi(h, t, MRS);
});
afterAll(() => h.close());

const base = (id: string) => `/v1.1/${t.projectId}/clusters/${id}/tags`;
const addOne = (id: string, body: unknown): Promise<Response> => api.send('POST', base(id), body);
const deleteOne = (id: string, key: string): Promise<Response> =>
  api.send('DELETE', `${base(id)}/${encodeURIComponent(key)}`);

describe('batch create', () => {
  it('answers 204 with no body', async () => {
    const id = await api.resource();
    const res = await api.send('POST', `${base(id)}/action`, {
      action: 'create',
      tags: [{ key: 'key1', value: 'value1' }],
    });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(await api.list(id)).toEqual([{ key: 'key1', value: 'value1' }]);
  });

  describe('key length: 1–36 code points', () => {
    it.each([
      ['36 ASCII letters', 'k'.repeat(36)],
      ['36 astral letters (72 UTF-16 units)', astral(36)],
      ['36 CJK characters', cjk(36)],
    ])('%s → accepted', async (_label, key) => {
      await api.acceptsCreate([{ key, value: 'v' }]);
    });

    it.each([
      ['37 ASCII letters', 'k'.repeat(37)],
      ['37 astral letters', astral(37)],
      ['empty', ''],
    ])('%s → 400 12005002', async (_label, key) => {
      await api.refusesCreate([{ key, value: 'v' }], INVALID);
    });

    it('missing → 400 12000002', async () => {
      await api.refusesCreate([{ value: 'v' }], MALFORMED);
    });
  });

  describe('value length: 0–43 code points', () => {
    it.each([
      ['43 ASCII letters', 'v'.repeat(43)],
      ['43 astral letters (86 UTF-16 units)', astral(43)],
      ['empty', ''],
    ])('%s → accepted', async (_label, value) => {
      await api.acceptsCreate([{ key: 'k', value }]);
    });

    it.each([
      ['44 ASCII letters', 'v'.repeat(44)],
      ['44 astral letters', astral(44)],
    ])('%s → 400 12005002', async (_label, value) => {
      await api.refusesCreate([{ key: 'k', value }], INVALID);
    });
  });

  describe('value: absent means "" (the Terraform providers send {"key":"k"}); null is refused', () => {
    it('{"key":"k"} stores ""', async () => {
      const id = await api.resource();
      api.expectWritten(await api.create(id, [{ key: 'k' }, { key: 'k2', value: 'v' }]));
      expect(await api.list(id)).toEqual([
        { key: 'k', value: '' },
        { key: 'k2', value: 'v' },
      ]);
    });

    it('{"key":"k"} overwrites an existing value with ""', async () => {
      const id = await api.resource([{ key: 'k', value: 'old' }]);
      api.expectWritten(await api.create(id, [{ key: 'k' }]));
      expect(await api.list(id)).toEqual([{ key: 'k', value: '' }]);
    });

    it.each([
      ['null', { key: 'k', value: null }],
      ['a number', { key: 'k', value: 1 }],
    ])('a value that is %s → 400 12000002, nothing written', async (_label, tag) => {
      await api.refusesCreate([{ key: 'ok', value: 'v' }, tag], MALFORMED);
    });
  });

  describe('characters: no ASCII 0–31, none of = * < > \\ , | /, no outer spaces', () => {
    it.each(chars(FORBIDDEN))('key with %s → 400 12005002', async (_label, ch) => {
      await api.refusesCreate([{ key: `a${ch}b`, value: 'v' }], INVALID);
    });

    it.each(chars(FORBIDDEN))('value with %s → 400 12005002', async (_label, ch) => {
      await api.refusesCreate([{ key: 'k', value: `a${ch}b` }], INVALID);
    });

    it.each(CONTROL_CHARS)('key with control character %s → 400 12005002', async (_label, ch) => {
      await api.refusesCreate([{ key: `a${ch}b`, value: 'v' }], INVALID);
    });

    it.each(CONTROL_CHARS)('value with control character %s → 400 12005002', async (_label, ch) => {
      await api.refusesCreate([{ key: 'k', value: `a${ch}b` }], INVALID);
    });

    it.each([
      ['key with a leading space', { key: ' k', value: 'v' }],
      ['key with a trailing space', { key: 'k ', value: 'v' }],
      ['value with a leading space', { key: 'k', value: ' v' }],
      ['value with a trailing space', { key: 'k', value: 'v ' }],
      ['value of one space', { key: 'k', value: ' ' }],
    ])('%s → 400 12005002', async (_label, tag) => {
      await api.refusesCreate([tag], INVALID);
    });

    it('inner spaces and other characters are accepted', async () => {
      await api.acceptsCreate([
        { key: 'a b.c:d@e#f$g%h^i&j(k)+l-m_n', value: 'x y.z:@#$%^&()[]{}~!?;' },
        { key: `Größe 数据 ${astral(2)}`, value: `Ωμέγα ${astral(3)}` },
      ]);
    });
  });

  it('a key twice in the request → 400 12005002', async () => {
    await api.refusesCreate(
      [
        { key: 'a', value: '1' },
        { key: 'a', value: '2' },
      ],
      INVALID,
    );
  });

  it('idempotent: an existing key is overwritten, the same request twice succeeds', async () => {
    const id = await api.resource(tagsN(2));
    for (let i = 0; i < 2; i++) {
      api.expectWritten(await api.create(id, [{ key: 'k0', value: 'new' }]));
    }
    expect(await api.list(id)).toEqual([
      { key: 'k0', value: 'new' },
      { key: 'k1', value: 'v1' },
    ]);
  });

  describe('at most 10 tags after the merge', () => {
    it('10 tags: overwriting one → 204', async () => {
      const id = await api.resource(tagsN(10));
      api.expectWritten(await api.create(id, [{ key: 'k3', value: 'x' }]));
      expect(await api.list(id)).toContainEqual({ key: 'k3', value: 'x' });
    });

    it('9 tags: two new → 400 12005001, nothing written', async () => {
      const id = await api.resource(tagsN(9));
      await api.expectRefused(id, () => api.create(id, tagsN(2, 'n')), TOO_MANY);
    });
  });
});

describe('action', () => {
  it.each([
    ['Create', 'Create'],
    ['DELETE', 'DELETE'],
    ['update', 'update'],
    ['empty', ''],
    ['null', null],
  ])('%s → 400 12000002', async (_label, action) => {
    const id = await api.resource(tagsN(1));
    await api.expectRefused(
      id,
      () => api.send('POST', `${base(id)}/action`, { action, tags: [{ key: 'k0' }] }),
      MALFORMED,
    );
  });

  it('missing → 400 12000002', async () => {
    const id = await api.resource(tagsN(1));
    await api.expectRefused(
      id,
      () => api.send('POST', `${base(id)}/action`, { tags: [{ key: 'n', value: '' }] }),
      MALFORMED,
    );
  });
});

describe('batch delete', () => {
  it('by key → 204 with no body', async () => {
    const id = await api.resource(tagsN(3));
    const res = await api.remove(id, [{ key: 'k1' }]);
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(await api.list(id)).toEqual([
      { key: 'k0', value: 'v0' },
      { key: 'k2', value: 'v2' },
    ]);
  });

  it('absent tags succeed, the others still go', async () => {
    const id = await api.resource(tagsN(2));
    api.expectWritten(
      await api.remove(id, [
        { key: 'nope', value: 'x' },
        { key: 'k0', value: 'v0' },
      ]),
    );
    api.expectWritten(await api.remove(id, [{ key: 'k0', value: 'v0' }]));
    expect(await api.list(id)).toEqual([{ key: 'k1', value: 'v1' }]);
  });

  it('the character set and outer spaces are not checked', async () => {
    const id = await api.resource(tagsN(1));
    api.expectWritten(
      await api.remove(id, [{ key: `a${FORBIDDEN}b` }, { key: ' k0 ', value: ' x\t ' }]),
    );
    expect(await api.list(id)).toEqual(tagsN(1));
  });

  it.each([
    ['a 36-character key', { key: astral(36) }],
    ['a 43-character value', { key: 'k', value: astral(43) }],
  ])('%s → 204', async (_label, tag) => {
    const id = await api.resource(tagsN(1));
    api.expectWritten(await api.remove(id, [tag]));
  });

  it.each([
    ['a 37-character key', { key: astral(37) }, INVALID],
    ['a 44-character value', { key: 'k0', value: astral(44) }, INVALID],
    ['an empty key', { key: '' }, INVALID],
    ['a missing key', { value: 'v0' }, MALFORMED],
  ])('%s → 400 %s, nothing deleted', async (_label, tag, code) => {
    const id = await api.resource(tagsN(2));
    await api.expectRefused(id, () => api.remove(id, [{ key: 'k1' }, tag]), code);
  });

  it.each([
    ['missing', undefined],
    ['null', null],
  ])('the tag list %s → 400 12000002', async (_label, tags) => {
    const id = await api.resource(tagsN(1));
    await api.expectRefused(
      id,
      () => api.send('POST', `${base(id)}/action`, { action: 'delete', tags }),
      MALFORMED,
    );
  });
});

describe('add one tag', () => {
  it('answers 204 with no body and adds the tag', async () => {
    const id = await api.resource(tagsN(1));
    const res = await addOne(id, { tag: { key: 'env', value: 'prod' } });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(await api.list(id)).toEqual([
      { key: 'env', value: 'prod' },
      { key: 'k0', value: 'v0' },
    ]);
  });

  it('overwrites an existing key, and is idempotent', async () => {
    const id = await api.resource(tagsN(2));
    for (let i = 0; i < 2; i++)
      api.expectWritten(await addOne(id, { tag: { key: 'k1', value: 'x' } }));
    expect(await api.list(id)).toEqual([
      { key: 'k0', value: 'v0' },
      { key: 'k1', value: 'x' },
    ]);
  });

  it('a tag without value stores ""', async () => {
    const id = await api.resource(tagsN(1));
    api.expectWritten(await addOne(id, { tag: { key: 'k' } }));
    expect(await api.list(id)).toEqual([{ key: 'k', value: '' }, ...tagsN(1)]);
  });

  it('unknown fields are ignored', async () => {
    const id = await api.resource();
    api.expectWritten(await addOne(id, { tag: { key: 'k', value: 'v', extra: 1 }, other: null }));
    expect(await api.list(id)).toEqual([{ key: 'k', value: 'v' }]);
  });

  it.each([
    ['a 37-character key', { key: astral(37), value: 'v' }, INVALID],
    ['a key with =', { key: 'a=b', value: 'v' }, INVALID],
    ['a key with a trailing space', { key: 'k ', value: 'v' }, INVALID],
    ['a 44-character value', { key: 'k', value: astral(44) }, INVALID],
    ['a value with /', { key: 'k', value: 'a/b' }, INVALID],
    ['an empty key', { key: '', value: 'v' }, INVALID],
    ['a null value', { key: 'k', value: null }, MALFORMED],
    ['no key', { value: 'v' }, MALFORMED],
  ])('%s → 400 %s', async (_label, tag, code) => {
    const id = await api.resource(tagsN(1));
    await api.expectRefused(id, () => addOne(id, { tag }), code);
  });

  it.each([
    ['missing', {}],
    ['null', { tag: null }],
    ['a string', { tag: 'k=v' }],
    ['an array', { tag: [{ key: 'k', value: 'v' }] }],
  ])('the tag object %s → 400 12000002', async (_label, body) => {
    const id = await api.resource(tagsN(1));
    await api.expectRefused(id, () => addOne(id, body), MALFORMED);
  });

  it('a body that is not JSON → 400 12000002', async () => {
    const id = await api.resource(tagsN(1));
    await api.expectRefused(id, () => addOne(id, '{"tag":'), MALFORMED);
  });

  it('counts toward the 10-tag limit: a new key on a full cluster → 12005001, an existing one → 204', async () => {
    const id = await api.resource(tagsN(10));
    await api.expectRefused(id, () => addOne(id, { tag: { key: 'n', value: 'v' } }), TOO_MANY);
    api.expectWritten(await addOne(id, { tag: { key: 'k9', value: 'x' } }));
    expect(await api.list(id)).toContainEqual({ key: 'k9', value: 'x' });
  });
});

describe('delete one tag', () => {
  it('answers 204 with no body and removes the tag', async () => {
    const id = await api.resource(tagsN(2));
    const res = await deleteOne(id, 'k0');
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(await api.list(id)).toEqual([{ key: 'k1', value: 'v1' }]);
  });

  it('a key the cluster lacks → 404 12005003', async () => {
    const id = await api.resource(tagsN(1));
    for (const key of ['nope', 'K0', 'a=b']) {
      await api.expectRefused(id, () => deleteOne(id, key), NO_SUCH_TAG, 404);
    }
  });

  it('deleting twice: the second call → 404 12005003', async () => {
    const id = await api.resource(tagsN(1));
    api.expectWritten(await deleteOne(id, 'k0'));
    await api.expectRefused(id, () => deleteOne(id, 'k0'), NO_SUCH_TAG, 404);
  });

  it('a percent-encoded key of 36 astral letters is decoded and matched', async () => {
    const id = await api.resource([{ key: astral(36), value: 'v' }, ...tagsN(1)]);
    api.expectWritten(await deleteOne(id, astral(36)));
    expect(await api.list(id)).toEqual(tagsN(1));
  });

  it('a key of 37 characters → 400 12005002', async () => {
    const id = await api.resource(tagsN(1));
    await api.expectRefused(id, () => deleteOne(id, astral(37)), INVALID);
  });
});

it('an unknown cluster → 400 12000003 on every route', async () => {
  const as = await t.resource('as_group');
  for (const id of ['no-such-cluster', as]) {
    api.expectError(await api.create(id, tagsN(1)), NOT_FOUND, 400);
    api.expectError(await api.remove(id, [{ key: 'k0' }]), NOT_FOUND, 400);
    api.expectError(await addOne(id, { tag: { key: 'k', value: 'v' } }), NOT_FOUND, 400);
    api.expectError(await deleteOne(id, 'k0'), NOT_FOUND, 400);
    api.expectError(await api.listRaw(id), NOT_FOUND, 400);
  }
});

describe('an IAM user whose policies refuse: 401 12000136', () => {
  const message = (action: string) =>
    `Permission denied. Error message: Policy doesn't allow ${action} to be performed.`;

  it('names the action refused, with a token or a signature; nothing changes', async () => {
    const id = await api.resource(tagsN(1));
    const cases: [RouteRequest, string][] = [
      [{ method: 'GET', url: base(id), headers: {} }, 'mrs:cluster:listTags'],
      [
        {
          method: 'POST',
          url: base(id),
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify({ tag: { key: 'n', value: 'v' } }),
        },
        'mrs:cluster:createTag',
      ],
      [{ method: 'DELETE', url: `${base(id)}/k0`, headers: {} }, 'mrs:cluster:deleteTag'],
      [
        { method: 'GET', url: `/v1.1/${t.projectId}/clusters/tags`, headers: {} },
        'mrs:cluster:listProjectTags',
      ],
      [
        {
          method: 'POST',
          url: `/v1.1/${t.projectId}/clusters/resource_instances/action`,
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify({ action: 'count' }),
        },
        'mrs:cluster:listResourceInstances',
      ],
    ];
    for (const [req, action] of cases) {
      for (const res of [
        await h.inject(withToken(req, t.iamUser.token)),
        await h.inject(signed(req, t.iamUser)),
      ]) {
        expect(api.expectError(res, '12000136', 401)).toBe(message(action));
      }
    }
    expect(await api.list(id)).toEqual(tagsN(1));
  });

  it('a batch names the action of its body when the other is allowed', async () => {
    const dev = await h.tenant();
    await h.seed({
      users: [
        {
          id: dev.iamUser.id,
          name: dev.iamUser.name,
          domain_id: dev.domainId,
          policies: [
            {
              Version: '5.0',
              Statement: [{ Effect: 'Allow', Action: ['mrs:cluster:batchDeleteTags'] }],
            },
          ],
        },
      ],
    });
    const id = await dev.resource('mrs_cluster', tagsN(1));
    const url = `/v1.1/${dev.projectId}/clusters/${id}/tags/action`;
    const send = (action: string) =>
      h.inject(
        withToken(
          {
            method: 'POST',
            url,
            headers: { 'content-type': 'application/json' },
            payload: JSON.stringify({ action, tags: [{ key: 'k0' }] }),
          },
          dev.iamUser.token,
        ),
      );
    const refused = await send('create');
    expect(api.expectError(refused, '12000136', 401)).toBe(message('mrs:cluster:batchCreateTags'));
    expect((await send('delete')).statusCode).toBe(204);
  });
});

describe('a project or domain not the caller\'s: 400 12000052 "No access rights."', () => {
  it.each([
    ["a token of another domain's project", async () => (await h.tenant()).root.token],
    ['a domain-scoped token', async () => t.root.domainToken],
  ])('%s', async (_label, token) => {
    const id = await api.resource(tagsN(1));
    const res = await h.inject(
      withToken({ method: 'GET', url: base(id), headers: {} }, await token()),
    );
    expect(api.expectError(res, '12000052', 400)).toBe('No access rights.');
  });

  it("another domain's signing key, on a write: nothing changes", async () => {
    const other = await h.tenant();
    const id = await api.resource(tagsN(1));
    const req: RouteRequest = {
      method: 'POST',
      url: `${base(id)}/action`,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ action: 'delete', tags: [{ key: 'k0' }] }),
    };
    expect(api.expectError(await h.inject(signed(req, other.root)), '12000052', 400)).toBe(
      'No access rights.',
    );
    expect(await api.list(id)).toEqual(tagsN(1));
  });
});

it('list answers 200 with exactly {"tags":[…]}', async () => {
  const id = await api.resource(tagsN(2));
  const res = await api.listRaw(id);
  expect(res.statusCode).toBe(200);
  const body = JSON.parse(res.body);
  expect(Object.keys(body)).toEqual(['tags']);
  expect(sortTags(body.tags)).toEqual(tagsN(2));
});
