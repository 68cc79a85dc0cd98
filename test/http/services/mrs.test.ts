import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, type Tenant } from '../../support/harness.js';
import type { RouteRequest } from '../../support/routes.js';
import { MRS, tagsN } from '../../support/service-spec.js';
import { signed, withToken } from '../../support/signing.js';
import { type Response, TagApi } from '../../support/tag-api.js';
import { astral } from '../../support/text-samples.js';

/**
 * SPEC §3.5: what only MRS cluster tags (API v1.1) do — the routes for one tag, the action, delete
 * without character checks, its refusals of policies and scopes. Its lengths, character sets,
 * limits and unknown clusters (on every route) are tested in rules.test.ts.
 */

const MALFORMED = '12000002';
const TOO_MANY = '12005001';
const INVALID = '12005002';
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
  describe('value: absent means "" (the Terraform providers send {"key":"k"})', () => {
    it('{"key":"k"} overwrites an existing value with ""', async () => {
      const id = await api.resource([{ key: 'k', value: 'old' }]);
      api.expectWritten(await api.create(id, [{ key: 'k' }]));
      expect(await api.list(id)).toEqual([{ key: 'k', value: '' }]);
    });
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
        'mrs:cluster:batchCreateTags',
      ],
      [{ method: 'DELETE', url: `${base(id)}/k0`, headers: {} }, 'mrs:cluster:batchDeleteTags'],
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
