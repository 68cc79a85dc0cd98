import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, type Tenant } from '../../support/harness.js';
import { DDM, sortTags, tagsN } from '../../support/service-spec.js';
import { type Headers, type Response, TagApi } from '../../support/tag-api.js';
import { astral } from '../../support/text-samples.js';

/**
 * SPEC §3.3: what only DDM instance tags (V3 API) do — PUT of one tag, the Content-Type rule,
 * delete checked with the create rules. Its lengths, character sets, limits and unknown
 * instances (PUT included) are tested in rules.test.ts.
 */

const INVALID = 'DBS.280001';
const MEDIA_TYPE = 'DBS.280415';

let h: Harness;
let t: Tenant;
let api: TagApi;

beforeAll(async () => {
  h = await createHarness();
  t = await h.tenant();
  api = new TagApi(h, t, DDM);
});
afterAll(() => h.close());

const base = (id: string) => `/v3/${t.projectId}/instances/${id}/tags`;
const put = (id: string, key: string, body: unknown, headers?: Headers): Promise<Response> =>
  api.send('PUT', `${base(id)}/${encodeURIComponent(key)}`, body, headers);

describe('create', () => {
  it('an existing key is overwritten; creating the same tags again succeeds', async () => {
    const id = await api.resource(tagsN(2));
    api.expectWritten(await api.create(id, [{ key: 'k0', value: 'new' }]));
    api.expectWritten(await api.create(id, [{ key: 'k0', value: 'new' }]));
    expect(await api.list(id)).toEqual([
      { key: 'k0', value: 'new' },
      { key: 'k1', value: 'v1' },
    ]);
  });
});

describe('delete', () => {
  it('absent tags succeed, the others still go', async () => {
    const id = await api.resource(tagsN(2));
    api.expectWritten(await api.remove(id, [{ key: 'nope' }, { key: 'k0', value: 'v0' }]));
    api.expectWritten(await api.remove(id, [{ key: 'k0' }]));
    expect(await api.list(id)).toEqual([{ key: 'k1', value: 'v1' }]);
  });

  describe('keys and values are checked with the create rules', () => {
    it('what create accepts, delete accepts: = in a key, / in a value', async () => {
      const id = await api.resource([
        { key: 'a=b', value: 'x/y' },
        { key: 'k0', value: 'v0' },
      ]);
      api.expectWritten(await api.remove(id, [{ key: 'a=b', value: 'x/y' }]));
      expect(await api.list(id)).toEqual([{ key: 'k0', value: 'v0' }]);
    });
  });

  it('the tags field must be present', async () => {
    const id = await api.resource(tagsN(1));
    await api.expectRefused(id, () => api.send('POST', `${base(id)}/delete`, {}), INVALID);
  });
});

describe('PUT one tag', () => {
  it('sets a new key → 200 with an empty body', async () => {
    const id = await api.resource(tagsN(1));
    const res = await put(id, 'env', { value: 'prod' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('');
    expect(await api.list(id)).toEqual([
      { key: 'env', value: 'prod' },
      { key: 'k0', value: 'v0' },
    ]);
  });

  it('overwrites an existing key, and is idempotent', async () => {
    const id = await api.resource(tagsN(2));
    for (let i = 0; i < 2; i++) api.expectWritten(await put(id, 'k1', { value: 'new' }));
    expect(await api.list(id)).toEqual([
      { key: 'k0', value: 'v0' },
      { key: 'k1', value: 'new' },
    ]);
  });

  it('an absent value means ""', async () => {
    const id = await api.resource();
    api.expectWritten(await put(id, 'k', {}));
    expect(await api.list(id)).toEqual([{ key: 'k', value: '' }]);
  });

  it('keys in the path are decoded and counted in code points', async () => {
    const id = await api.resource();
    api.expectWritten(await put(id, astral(36), { value: 'a/b' }));
    api.expectWritten(await put(id, 'a=b c', { value: '' }));
    expect(await api.list(id)).toEqual(
      sortTags([
        { key: astral(36), value: 'a/b' },
        { key: 'a=b c', value: '' },
      ]),
    );
  });

  it.each([
    ['37 characters', astral(37)],
    ['starting with _sys_', '_sys_k'],
    ['a leading space', ' k'],
    ['a trailing space', 'k '],
    ['a slash', 'a/b'],
    ['a star', 'a*b'],
    ['a control character', 'a\tb'],
  ])('a key with %s → 400', async (_label, key) => {
    const id = await api.resource(tagsN(1));
    await api.expectRefused(id, () => put(id, key, { value: 'v' }), INVALID);
  });

  it.each([
    ['44 characters', astral(44)],
    ['a pipe', 'a|b'],
    ['null', null],
    ['a number', 1],
  ])('a value of %s → 400', async (_label, value) => {
    const id = await api.resource(tagsN(1));
    await api.expectRefused(id, () => put(id, 'k0', { value }), INVALID);
  });

  it.each([
    ['not JSON', '{"value":'],
    ['not an object', '"v"'],
    ['empty', ''],
  ])('a body that is %s → 400', async (_label, body) => {
    const id = await api.resource(tagsN(1));
    await api.expectRefused(id, () => put(id, 'k0', body), INVALID);
  });

  it('counts toward the 20-tag limit: a new key on a full instance → 400, an existing one → 200', async () => {
    const id = await api.resource(tagsN(20));
    await api.expectRefused(id, () => put(id, 'new', { value: 'v' }), INVALID);
    api.expectWritten(await put(id, 'k19', { value: 'changed' }));
    expect(await api.list(id)).toContainEqual({ key: 'k19', value: 'changed' });
  });
});

describe('Content-Type', () => {
  const writes: [string, (id: string, headers: Headers) => Promise<Response>][] = [
    ['create', (id, headers) => api.create(id, [{ key: 'n', value: 'v' }], headers)],
    ['delete', (id, headers) => api.remove(id, [{ key: 'k0' }], headers)],
    ['PUT', (id, headers) => put(id, 'n', { value: 'v' }, headers)],
  ];

  describe.each(writes)('%s', (_op, send) => {
    it.each([
      'application/json',
      'application/json;charset=utf-8',
      'application/json; charset=utf-8',
      'Application/JSON;Charset=UTF-8',
      'APPLICATION/JSON; CHARSET=utf-8',
    ])('%s → accepted', async (contentType) => {
      const id = await api.resource(tagsN(1));
      api.expectWritten(await send(id, { 'content-type': contentType }));
    });

    it.each([
      ['text/plain', 'text/plain'],
      ['application/xml', 'application/xml'],
      ['another charset', 'application/json;charset=iso-8859-1'],
      ['another parameter', 'application/json;version=2'],
      ['a longer type', 'application/jsonx'],
      ['a form', 'application/x-www-form-urlencoded'],
      ['not a media type', 'json'],
      ['missing', undefined],
    ])('%s → 415 DBS.280415, nothing written', async (_label, contentType) => {
      const id = await api.resource(tagsN(1));
      const message = await api.expectRefused(
        id,
        () => send(id, { 'content-type': contentType }),
        MEDIA_TYPE,
        415,
      );
      expect(message).toContain('application/json');
    });
  });

  it('a listing needs no Content-Type', async () => {
    const id = await api.resource(tagsN(1));
    expect(await api.list(id)).toEqual(tagsN(1));
  });
});
