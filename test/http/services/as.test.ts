import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, type Tenant } from '../../support/harness.js';
import type { RouteRequest } from '../../support/routes.js';
import { AS, tagsN } from '../../support/service-spec.js';
import { signed, withToken } from '../../support/signing.js';
import { TagApi } from '../../support/tag-api.js';
import { astral, CONTROL_CHARS, chars, cjk } from '../../support/text-samples.js';

/** SPEC §3.4: Auto Scaling group tags. */

let h: Harness;
let t: Tenant;
let api: TagApi;

beforeAll(async () => {
  h = await createHarness();
  t = await h.tenant();
  api = new TagApi(h, t, AS);
});
afterAll(() => h.close());

const groupUrl = (id: string, type = 'scaling_group_tag') =>
  `/autoscaling-api/v1/${t.projectId}/${type}/${id}/tags`;

describe('create', () => {
  it('answers 204 with no body', async () => {
    const id = await api.resource();
    const res = await api.send('POST', `${groupUrl(id)}/action`, {
      tags: [{ key: 'ENV15', value: 'ENV15' }],
      action: 'create',
    });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(await api.list(id)).toEqual([{ key: 'ENV15', value: 'ENV15' }]);
  });

  describe('key: at most 36 characters from A-Z a-z 0-9 - _ and U+4E00–U+9FFF', () => {
    it.each([
      ['36 CJK characters', cjk(36)],
      ['36 ASCII letters', 'k'.repeat(36)],
      ['the whole ASCII set', 'AZaz09-_'],
      ['U+4E00 and U+9FFF', '\u4E00\u9FFF'],
      ['one character', '-'],
    ])('%s → accepted', async (_label, key) => {
      await api.acceptsCreate([{ key, value: 'v' }]);
    });

    it.each([
      ['37 CJK characters', cjk(37)],
      ['37 ASCII letters', 'k'.repeat(37)],
    ])('%s → 400 AS.7063', async (_label, key) => {
      await api.refusesCreate([{ key, value: 'v' }], 'AS.7063');
    });

    it.each([
      ...chars('. =*<>\\,|/@:+#'),
      ['U+4DFF (below the CJK range)', '\u4DFF'],
      ['U+A000 (above the CJK range)', '\uA000'],
      ['an astral letter', astral(1)],
      ['a Latin letter with a diacritic', 'é'],
    ] as [string, string][])('a key with %s → 400 AS.7046', async (_label, ch) => {
      await api.refusesCreate([{ key: `a${ch}b`, value: 'v' }], 'AS.7046');
    });

    it.each(CONTROL_CHARS)('a key with control character %s → 400 AS.7046', async (_label, ch) => {
      await api.refusesCreate([{ key: `a${ch}b`, value: 'v' }], 'AS.7046');
    });

    it('36 astral letters are 36 characters, refused for their set, not their length', async () => {
      await api.refusesCreate([{ key: astral(36), value: 'v' }], 'AS.7046');
      await api.refusesCreate([{ key: astral(37), value: 'v' }], 'AS.7063');
    });

    it.each([
      ['empty', { key: '', value: 'v' }],
      ['missing', { value: 'v' }],
      ['null', { key: null, value: 'v' }],
    ])('a key %s → 400 AS.7062', async (_label, tag) => {
      await api.refusesCreate([{ key: 'ok', value: 'v' }, tag], 'AS.7062');
    });
  });

  describe('value: optional, at most 43 characters from the key set plus "."', () => {
    it.each([
      ['43 CJK characters', cjk(43)],
      ['43 ASCII characters with dots', `${'v.'.repeat(21)}v`],
      ['the whole set', 'AZaz09-_.\u4E00\u9FFF'],
      ['empty', ''],
    ])('%s → accepted', async (_label, value) => {
      await api.acceptsCreate([{ key: 'k', value }]);
    });

    it('absent → stored as ""', async () => {
      const id = await api.resource();
      api.expectWritten(await api.create(id, [{ key: 'k' }]));
      expect(await api.list(id)).toEqual([{ key: 'k', value: '' }]);
    });

    it('44 characters → 400 AS.7047', async () => {
      await api.refusesCreate([{ key: 'k', value: cjk(44) }], 'AS.7047');
    });

    it.each([
      ...chars(' =*<>\\,|/@:+#'),
      ['U+4DFF', '\u4DFF'],
      ['U+A000', '\uA000'],
      ['an astral letter', astral(1)],
    ] as [string, string][])('a value with %s → 400 AS.7047', async (_label, ch) => {
      await api.refusesCreate([{ key: 'k', value: `a${ch}b` }], 'AS.7047');
    });

    it.each(CONTROL_CHARS)(
      'a value with control character %s → 400 AS.7047',
      async (_label, ch) => {
        await api.refusesCreate([{ key: 'k', value: `a${ch}b` }], 'AS.7047');
      },
    );
  });

  it('a key twice in the request → 400 AS.7050', async () => {
    await api.refusesCreate(
      [
        { key: 'a', value: '1' },
        { key: 'b', value: '2' },
        { key: 'a', value: '1' },
      ],
      'AS.7050',
    );
  });

  it('an existing key is overwritten; the same request twice succeeds', async () => {
    const id = await api.resource(tagsN(2));
    for (let i = 0; i < 2; i++) {
      api.expectWritten(await api.create(id, [{ key: 'k1', value: 'new' }]));
    }
    expect(await api.list(id)).toEqual([
      { key: 'k0', value: 'v0' },
      { key: 'k1', value: 'new' },
    ]);
  });

  describe('at most 10 tags after the merge', () => {
    it('10 tags: overwriting one → 204', async () => {
      const id = await api.resource(tagsN(10));
      api.expectWritten(await api.create(id, [{ key: 'k9', value: 'x' }]));
      expect(await api.list(id)).toContainEqual({ key: 'k9', value: 'x' });
    });

    it('9 tags: one overwrite and one new → 204 (10)', async () => {
      const id = await api.resource(tagsN(9));
      api.expectWritten(
        await api.create(id, [
          { key: 'k0', value: 'x' },
          { key: 'n', value: '' },
        ]),
      );
      expect(await api.list(id)).toHaveLength(10);
    });

    it('9 tags: two new → 400 AS.7045, nothing written', async () => {
      const id = await api.resource(tagsN(9));
      await api.expectRefused(id, () => api.create(id, tagsN(2, 'n')), 'AS.7045');
    });
  });
});

describe('tags field', () => {
  it.each([
    ['create', 'missing', undefined],
    ['create', 'null', null],
    ['delete', 'missing', undefined],
    ['delete', 'null', null],
  ])('%s with tags %s → 400 AS.7044', async (action, _label, tags) => {
    const id = await api.resource(tagsN(1));
    await api.expectRefused(
      id,
      () => api.send('POST', `${groupUrl(id)}/action`, { action, tags }),
      'AS.7044',
    );
  });

  it('a body that cannot be parsed → 400 AS.0022', async () => {
    const id = await api.resource(tagsN(1));
    await api.expectRefused(
      id,
      () => api.send('POST', `${groupUrl(id)}/action`, '{"tags":'),
      'AS.0022',
    );
  });
});

describe('action: create or delete, case-sensitive', () => {
  it.each([
    ['Create', 'Create'],
    ['DELETE', 'DELETE'],
    ['update', 'update'],
    ['empty', ''],
    ['null', null],
    ['a number', 1],
  ])('%s → 400 AS.7049', async (_label, action) => {
    const id = await api.resource(tagsN(1));
    await api.expectRefused(
      id,
      () => api.send('POST', `${groupUrl(id)}/action`, { action, tags: [{ key: 'k0' }] }),
      'AS.7049',
    );
  });

  it('missing → 400 AS.7049', async () => {
    const id = await api.resource(tagsN(1));
    await api.expectRefused(
      id,
      () => api.send('POST', `${groupUrl(id)}/action`, { tags: [{ key: 'n' }] }),
      'AS.7049',
    );
  });
});

describe('resource_type must be scaling_group_tag', () => {
  it.each(['scaling_group', 'SCALING_GROUP_TAG', 'scaling_group_tags', 'as_group', 'instance_tag'])(
    '%s → 400 AS.7048 on the action and the listing',
    async (type) => {
      const id = await api.resource(tagsN(1));
      const before = await api.list(id);
      const res = await api.send('POST', `${groupUrl(id, type)}/action`, {
        action: 'create',
        tags: [{ key: 'n', value: 'v' }],
      });
      const message = api.expectError(res, 'AS.7048');
      expect(message).toContain('scaling_group_tag');
      api.expectError(await api.send('GET', groupUrl(id, type)), 'AS.7048');
      expect(await api.list(id)).toEqual(before);
    },
  );
});

describe('delete', () => {
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

  it('by key and value: removed only when both match', async () => {
    const id = await api.resource(tagsN(3));
    api.expectWritten(
      await api.remove(id, [
        { key: 'k0', value: 'v0' },
        { key: 'k1', value: 'x' },
      ]),
    );
    expect(await api.list(id)).toEqual([
      { key: 'k1', value: 'v1' },
      { key: 'k2', value: 'v2' },
    ]);
  });

  it('absent tags succeed', async () => {
    const id = await api.resource(tagsN(1));
    api.expectWritten(await api.remove(id, [{ key: 'nope' }, { key: 'k0', value: 'other' }]));
    expect(await api.list(id)).toEqual(tagsN(1));
  });

  it('the character set is not checked', async () => {
    const id = await api.resource(tagsN(1));
    api.expectWritten(
      await api.remove(id, [{ key: 'a.b c/*=' }, { key: `${astral(2)}@`, value: ' x|y ' }]),
    );
    expect(await api.list(id)).toEqual(tagsN(1));
  });

  it.each([
    ['a 127-character key', { key: astral(127) }],
    ['a 255-character value', { key: 'k', value: astral(255) }],
  ])('%s → 204', async (_label, tag) => {
    const id = await api.resource(tagsN(1));
    api.expectWritten(await api.remove(id, [tag]));
  });

  it.each([
    ['a 128-character key', { key: astral(128) }, 'AS.7063'],
    ['a 256-character value', { key: 'k0', value: astral(256) }, 'AS.7047'],
    ['an empty key', { key: '' }, 'AS.7062'],
    ['a missing key', { value: 'v0' }, 'AS.7062'],
  ])('%s → 400 %s, nothing deleted', async (_label, tag, code) => {
    const id = await api.resource(tagsN(2));
    await api.expectRefused(id, () => api.remove(id, [{ key: 'k1' }, tag]), code);
  });
});

it('an unknown scaling group → 400 AS.2007 on the action and the listing', async () => {
  const mrs = await t.resource('mrs_cluster');
  for (const id of ['no-such-group', mrs]) {
    api.expectError(await api.create(id, tagsN(1)), 'AS.2007', 400);
    api.expectError(await api.remove(id, [{ key: 'k0' }]), 'AS.2007', 400);
    api.expectError(await api.listRaw(id), 'AS.2007', 400);
  }
});

describe('an empty body → 400 AS.0002', () => {
  it.each([
    ['with a JSON Content-Type', { 'content-type': 'application/json' }],
    ['without a Content-Type', { 'content-type': undefined }],
  ])('%s', async (_label, headers) => {
    const id = await api.resource(tagsN(1));
    await api.expectRefused(
      id,
      () => api.send('POST', `${groupUrl(id)}/action`, '', headers),
      'AS.0002',
    );
  });

  it('on a query too', async () => {
    const res = await api.send(
      'POST',
      `/autoscaling-api/v1/${t.projectId}/scaling_group_tag/resource_instances/action`,
      '',
    );
    api.expectError(res, 'AS.0002');
  });

  it('a body of spaces is not empty: it is not JSON (AS.0022)', async () => {
    const id = await api.resource(tagsN(1));
    await api.expectRefused(id, () => api.send('POST', `${groupUrl(id)}/action`, '  '), 'AS.0022');
  });
});

describe('the project in the URL must be the caller\'s: 400 AS.0008 "Incorrect ProjectID."', () => {
  let other: Tenant;
  beforeAll(async () => {
    other = await h.tenant();
  });

  const requests = (id: string): RouteRequest[] => [
    {
      method: 'POST',
      url: `${groupUrl(id)}/action`,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ action: 'create', tags: [{ key: 'n', value: 'v' }] }),
    },
    { method: 'GET', url: groupUrl(id), headers: {} },
    {
      method: 'GET',
      url: `/autoscaling-api/v1/${t.projectId}/scaling_group_tag/tags`,
      headers: {},
    },
    {
      method: 'POST',
      url: `/autoscaling-api/v1/${t.projectId}/scaling_group_tag/resource_instances/action`,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ action: 'count' }),
    },
  ];

  it.each([
    [
      "a token of another project (another domain's)",
      () => (r: RouteRequest) => withToken(r, other.root.token),
    ],
    ['a domain-scoped token', () => (r: RouteRequest) => withToken(r, t.root.domainToken)],
    ["another domain's signing key", () => (r: RouteRequest) => signed(r, other.root)],
  ])('%s → AS.0008 on every route, nothing changes', async (_label, credentials) => {
    const id = await api.resource(tagsN(1));
    for (const req of requests(id)) {
      const res = await h.inject(credentials()(req));
      expect(api.expectError(res, 'AS.0008', 400)).toBe('Incorrect ProjectID.');
    }
    expect(await api.list(id)).toEqual(tagsN(1));
  });

  it("the caller's own project is accepted, token or signature", async () => {
    const id = await api.resource(tagsN(1));
    const req = requests(id)[1]!;
    expect((await h.inject(withToken(req, t.root.token))).statusCode).toBe(200);
    expect((await h.inject(signed(req, t.root))).statusCode).toBe(200);
  });
});

describe('queries (resource_instances/action)', () => {
  const query = (body: unknown) =>
    api.send(
      'POST',
      `/autoscaling-api/v1/${t.projectId}/scaling_group_tag/resource_instances/action`,
      body,
    );

  it.each([
    ['matches not an array', { matches: { key: 'resource_name', value: 'x' } }],
    ['a match that is not an object', { matches: ['x'] }],
    ['a match on another key', { matches: [{ key: 'resource_id', value: 'x' }] }],
    ['a match without a value', { matches: [{ key: 'resource_name' }] }],
    ['a match value that is not a string', { matches: [{ key: 'resource_name', value: 1 }] }],
    [
      'a match value over 255 characters',
      { matches: [{ key: 'resource_name', value: 'n'.repeat(256) }] },
    ],
    [
      'resource_name twice',
      {
        matches: [
          { key: 'resource_name', value: 'a' },
          { key: 'resource_name', value: 'b' },
        ],
      },
    ],
  ])('invalid matches (%s) → 400 AS.7052', async (_label, extra) => {
    for (const action of ['filter', 'count']) {
      api.expectError(await query({ action, ...extra }), 'AS.7052');
    }
  });

  it.each(['tags', 'tags_any', 'not_tags', 'not_tags_any'])(
    'a key with a value twice in %s → 400 AS.7054',
    async (list) => {
      const message = api.expectError(
        await query({ action: 'filter', [list]: [{ key: 'env', values: ['a', 'b', 'a'] }] }),
        'AS.7054',
      );
      expect(message).toContain("'a'");
    },
  );

  it('the same key twice in a list is not AS.7054: the invalid-parameter code', async () => {
    api.expectError(
      await query({
        action: 'filter',
        tags: [
          { key: 'env', values: ['a'] },
          { key: 'env', values: ['b'] },
        ],
      }),
      'AS.0022',
    );
  });

  it('a valid matches still finds groups by name', async () => {
    const res = await query({ action: 'count', matches: [{ key: 'resource_name', value: '' }] });
    expect(res.statusCode, res.body).toBe(200);
  });
});

it('list answers 200 with exactly {"tags":[…],"sys_tags":[]}', async () => {
  const id = await api.resource(tagsN(2));
  const res = await api.listRaw(id);
  expect(res.statusCode).toBe(200);
  const body = JSON.parse(res.body);
  expect(Object.keys(body).sort()).toEqual(['sys_tags', 'tags']);
  expect(body.sys_tags).toEqual([]);
  expect(await api.list(id)).toEqual(tagsN(2));
});
