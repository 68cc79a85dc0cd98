import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, type Tenant } from '../../support/harness.js';
import type { RouteRequest } from '../../support/routes.js';
import { AS, tagsN } from '../../support/service-spec.js';
import { signed, withToken } from '../../support/signing.js';
import { TagApi } from '../../support/tag-api.js';
import { astral } from '../../support/text-samples.js';

/**
 * SPEC §3.4: what only Auto Scaling group tags do — its codes for the tags field, the action, the
 * resource type, empty bodies and the project, delete without character checks, queries. Its
 * lengths, character sets, limits and unknown groups are tested in rules.test.ts.
 */

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
  describe('key: at most 36 characters from A-Z a-z 0-9 - _ and U+4E00–U+9FFF', () => {
    it('36 astral letters are 36 characters, refused for their set, not their length', async () => {
      await api.refusesCreate([{ key: astral(36), value: 'v' }], 'AS.7046');
      await api.refusesCreate([{ key: astral(37), value: 'v' }], 'AS.7063');
    });
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
