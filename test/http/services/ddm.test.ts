import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, type Tenant } from '../../support/harness.js';
import { DDM, sortTags, tagsN } from '../../support/service-spec.js';
import { type Headers, type Response, TagApi } from '../../support/tag-api.js';
import { astral, CONTROL_CHARS, chars, cjk } from '../../support/text-samples.js';

/** SPEC §3.3: DDM instance tags, V3 API. */

const INVALID = 'DBS.280001';
const NOT_FOUND = 'DBS.200002';
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
  it('answers 200 with an empty body', async () => {
    const id = await api.resource();
    const res = await api.send('POST', `${base(id)}/create`, { tags: [{ key: 'k', value: 'v' }] });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('');
    expect(await api.list(id)).toEqual([{ key: 'k', value: 'v' }]);
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
    ])('%s → 400', async (_label, key) => {
      await api.refusesCreate([{ key, value: 'v' }], INVALID);
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
    ])('%s → 400', async (_label, value) => {
      await api.refusesCreate([{ key: 'k', value }], INVALID);
    });
  });

  describe('key characters: no ASCII 0–31 and none of * < > \\ , | /', () => {
    it.each(chars('*<>\\,|/'))('%s → 400', async (_label, ch) => {
      await api.refusesCreate([{ key: `a${ch}b`, value: 'v' }], INVALID);
    });

    it.each(CONTROL_CHARS)('control character %s → 400', async (_label, ch) => {
      await api.refusesCreate([{ key: `a${ch}b`, value: 'v' }], INVALID);
    });

    it.each([
      ['=', 'a=b'],
      ['an inner space', 'a b'],
      ['other symbols', 'a.b:c@d#e$f%g^h&i(j)+k-l_m~'],
      ['sys', 'sys'],
      ['_sys without the second underscore', '_sysx'],
      ['_sys_ not at the start', 'a_sys_'],
    ])('%s → accepted', async (_label, key) => {
      await api.acceptsCreate([{ key, value: 'v' }]);
    });

    it.each([
      ['_sys_', '_sys_'],
      ['starting with _sys_', '_sys_tag'],
      ['a leading space', ' key'],
      ['a trailing space', 'key '],
      ['only a space', ' '],
    ])('%s → 400', async (_label, key) => {
      await api.refusesCreate([{ key, value: 'v' }], INVALID);
    });
  });

  describe('value characters: no ASCII 0–31 and none of * < > \\ , |', () => {
    it.each(chars('*<>\\,|'))('%s → 400', async (_label, ch) => {
      await api.refusesCreate([{ key: 'k', value: `a${ch}b` }], INVALID);
    });

    it.each(CONTROL_CHARS)('control character %s → 400', async (_label, ch) => {
      await api.refusesCreate([{ key: 'k', value: `a${ch}b` }], INVALID);
    });

    it.each([
      ['/', 'a/b'],
      ['=', 'a=b'],
      ['_sys_', '_sys_v'],
    ])('%s → accepted', async (_label, value) => {
      await api.acceptsCreate([{ key: 'k', value }]);
    });
  });

  describe('value: mandatory field with "" as its default', () => {
    it('absent → stored as ""', async () => {
      const id = await api.resource();
      api.expectWritten(await api.create(id, [{ key: 'k' }]));
      expect(await api.list(id)).toEqual([{ key: 'k', value: '' }]);
    });

    it.each([
      ['null', null],
      ['a number', 0],
    ])('%s → 400', async (_label, value) => {
      await api.refusesCreate([{ key: 'k', value }], INVALID);
    });
  });

  it('a key twice in the request → 400', async () => {
    await api.refusesCreate(
      [
        { key: 'a', value: '1' },
        { key: 'a', value: '2' },
      ],
      INVALID,
    );
  });

  it('an existing key is overwritten; creating the same tags again succeeds', async () => {
    const id = await api.resource(tagsN(2));
    api.expectWritten(await api.create(id, [{ key: 'k0', value: 'new' }]));
    api.expectWritten(await api.create(id, [{ key: 'k0', value: 'new' }]));
    expect(await api.list(id)).toEqual([
      { key: 'k0', value: 'new' },
      { key: 'k1', value: 'v1' },
    ]);
  });

  describe('at most 20 tags after the merge', () => {
    it('20 tags: overwriting two → 200', async () => {
      const id = await api.resource(tagsN(20));
      api.expectWritten(
        await api.create(id, [
          { key: 'k1', value: 'a' },
          { key: 'k2', value: 'b' },
        ]),
      );
      expect(await api.list(id)).toHaveLength(20);
    });

    it('20 tags: one new → 400, nothing written', async () => {
      const id = await api.resource(tagsN(20));
      await api.expectRefused(
        id,
        () =>
          api.create(id, [
            { key: 'k1', value: 'changed' },
            { key: 'n', value: '' },
          ]),
        INVALID,
      );
    });
  });
});

describe('delete', () => {
  it('by key → 200 with an empty body', async () => {
    const id = await api.resource(tagsN(3));
    const res = await api.send('POST', `${base(id)}/delete`, { tags: [{ key: 'k1' }] });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('');
    expect(await api.list(id)).toEqual([
      { key: 'k0', value: 'v0' },
      { key: 'k2', value: 'v2' },
    ]);
  });

  it('absent tags succeed, the others still go', async () => {
    const id = await api.resource(tagsN(2));
    api.expectWritten(await api.remove(id, [{ key: 'nope' }, { key: 'k0', value: 'v0' }]));
    api.expectWritten(await api.remove(id, [{ key: 'k0' }]));
    expect(await api.list(id)).toEqual([{ key: 'k1', value: 'v1' }]);
  });

  describe('keys and values are checked with the create rules', () => {
    it.each([
      ['a forbidden key character', { key: 'a*b' }],
      ['a key starting with _sys_', { key: '_sys_a' }],
      ['a key with an outer space', { key: ' x ' }],
      ['a control character in a key', { key: 'a\u0001b' }],
      ['a 37-character key', { key: astral(37) }],
      ['a forbidden value character', { key: 'k0', value: 'a|b' }],
      ['a control character in a value', { key: 'k0', value: 'a\tb' }],
      ['a 44-character value', { key: 'k0', value: astral(44) }],
    ])('%s → 400 DBS.280001, nothing deleted', async (_label, tag) => {
      const id = await api.resource(tagsN(2));
      await api.expectRefused(id, () => api.remove(id, [{ key: 'k1' }, tag]), INVALID);
    });

    it('what create accepts, delete accepts: = in a key, / in a value', async () => {
      const id = await api.resource([
        { key: 'a=b', value: 'x/y' },
        { key: 'k0', value: 'v0' },
      ]);
      api.expectWritten(await api.remove(id, [{ key: 'a=b', value: 'x/y' }]));
      expect(await api.list(id)).toEqual([{ key: 'k0', value: 'v0' }]);
    });
  });

  it.each([
    ['an empty key', [{ key: '' }]],
    ['a missing key', [{ value: 'v0' }]],
  ])('%s → 400, nothing deleted', async (_label, tags) => {
    const id = await api.resource(tagsN(2));
    await api.expectRefused(id, () => api.remove(id, [{ key: 'k0' }, ...tags]), INVALID);
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

it('an unknown instance → 400 DBS.200002 on create, delete, PUT and list', async () => {
  const bms = await t.resource('bms_server');
  for (const id of ['no-such-instance', bms]) {
    api.expectError(await api.create(id, tagsN(1)), NOT_FOUND, 400);
    api.expectError(await api.remove(id, [{ key: 'k0' }]), NOT_FOUND, 400);
    api.expectError(await put(id, 'k', { value: 'v' }), NOT_FOUND, 400);
    api.expectError(await api.listRaw(id), NOT_FOUND, 400);
  }
});

it('list answers 200 with exactly {"tags":[…]}', async () => {
  const id = await api.resource(tagsN(2));
  const res = await api.listRaw(id);
  expect(res.statusCode).toBe(200);
  const body = JSON.parse(res.body);
  expect(Object.keys(body)).toEqual(['tags']);
  expect(sortTags(body.tags)).toEqual(tagsN(2));
});
