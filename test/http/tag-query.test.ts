import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, json, type Tenant } from '../support/harness.js';

/**
 * Query by tag (`resource_instances/action`) over a small known dataset: every operator, their
 * combinations and the empty cases, with exact expected result sets in newest-first order.
 */

type Tags = Record<string, string>;

/** The dataset, in registration order (so newest first is the reverse). */
const DATASET: { id: string; name: string; tags: Tags }[] = [
  { id: 'c1', name: 'alpha-web', tags: { env: 'prod', team: 'web' } },
  { id: 'c2', name: 'beta-web', tags: { env: 'dev', team: 'web' } },
  { id: 'c3', name: 'gamma-db', tags: { env: 'prod', team: 'db', tier: 'gold' } },
  { id: 'c4', name: 'delta', tags: { env: 'test' } },
  { id: 'c5', name: '', tags: {} },
  { id: 'c6', name: 'Alpha-ops', tags: { env: 'Prod', team: 'web-ops' } },
  { id: 'c7', name: '50%_off', tags: { env: 'pro_d', team: 'a.b' } },
  { id: 'c8', name: 'omega', tags: { team: 'db' } },
];
const NEWEST_FIRST = DATASET.map((r) => r.id).reverse();

async function register(h: Harness, t: Tenant, type: string, rows: typeof DATASET) {
  // One seed call per resource: registration order is the order given.
  for (const r of rows) {
    await h.seed({
      resources: [
        {
          project_id: t.projectId,
          type,
          id: r.id,
          name: r.name,
          tags: Object.entries(r.tags).map(([key, value]) => ({ key, value })),
        },
      ],
    });
  }
}

interface Service {
  readonly name: string;
  readonly type: string;
  url(projectId: string): string;
  readonly invalidCode: string;
  readonly actionCode: string;
  /** Invalid `matches` (AS.7052). */
  readonly matchesCode: string;
  /** A key with a value twice in a list (AS.7054). */
  readonly duplicateValueCode: string;
  /** Refusals: another project or domain, an IAM user's policies. */
  readonly scope: { readonly status: number; readonly code: string };
  readonly policy: { readonly status: number; readonly code: string };
  readonly envelope: 'flat' | 'nested';
}

const MRS: Service = {
  name: 'MRS',
  type: 'mrs_cluster',
  url: (p) => `/v1.1/${p}/clusters/resource_instances/action`,
  invalidCode: '12000002',
  actionCode: '12000002',
  matchesCode: '12000002',
  duplicateValueCode: '12000002',
  scope: { status: 400, code: '12000052' },
  policy: { status: 401, code: '12000136' },
  envelope: 'flat',
};
const AS: Service = {
  name: 'AS',
  type: 'as_group',
  url: (p) => `/autoscaling-api/v1/${p}/scaling_group_tag/resource_instances/action`,
  invalidCode: 'AS.0022',
  actionCode: 'AS.7049',
  matchesCode: 'AS.7052',
  duplicateValueCode: 'AS.7054',
  scope: { status: 400, code: 'AS.0008' },
  policy: { status: 403, code: 'AS.0011' },
  envelope: 'nested',
};

describe.each([MRS, AS])('$name resource_instances/action', (svc) => {
  let h: Harness;
  let t: Tenant;

  beforeAll(async () => {
    h = await createHarness();
    t = await h.tenant();
    await register(h, t, svc.type, DATASET);
    // Neither other types nor other projects take part.
    const other = await h.tenant();
    await register(h, other, svc.type, [{ id: 'x1', name: 'alpha-web', tags: { env: 'prod' } }]);
    const otherType = svc.type === 'mrs_cluster' ? 'as_group' : 'mrs_cluster';
    await register(h, t, otherType, [{ id: 'y1', name: 'alpha-web', tags: { env: 'prod' } }]);
  });
  afterAll(() => h.close());

  const query = (body: unknown, token = t.root.token) =>
    h.inject({
      method: 'POST',
      url: svc.url(t.projectId),
      headers: { 'x-auth-token': token, 'content-type': 'application/json' },
      payload: typeof body === 'string' ? body : JSON.stringify(body),
    });

  /** The ids a filter returns, in order, checking total_count against them. */
  const ids = async (body: Record<string, unknown>) => {
    const res = await query({ action: 'filter', ...body });
    expect(res.statusCode, res.body).toBe(200);
    const b = json(res) as { resources: { resource_id: string }[]; total_count: number };
    expect(b.total_count).toBe(b.resources.length);
    const count = await query({ action: 'count', ...body });
    expect(json(count)).toEqual({ total_count: b.resources.length });
    return b.resources.map((r) => r.resource_id);
  };

  const errorCode = (res: { body: string }) => {
    const b = json(res as never) as Record<string, unknown>;
    if (svc.envelope === 'flat') {
      expect(Object.keys(b).sort()).toEqual(['error_code', 'error_msg']);
      return b.error_code;
    }
    expect(Object.keys(b)).toEqual(['error']);
    const e = b.error as Record<string, unknown>;
    expect(Object.keys(e).sort()).toEqual(['code', 'message']);
    return e.code;
  };

  it('with no condition lists every resource of the type in the project, newest first', async () => {
    expect(await ids({})).toEqual(NEWEST_FIRST);
  });

  it('answers the documented body: resources with their tags, total_count', async () => {
    const res = await query({ action: 'filter', tags: [{ key: 'team', values: ['db'] }] });
    const detail = svc === AS ? 'SCALING_GROUP_TAG' : null;
    expect(json(res)).toEqual({
      resources: [
        {
          resource_id: 'c8',
          resource_name: 'omega',
          resource_detail: detail,
          tags: [{ key: 'team', value: 'db' }],
        },
        {
          resource_id: 'c3',
          resource_name: 'gamma-db',
          resource_detail: detail,
          tags: [
            { key: 'env', value: 'prod' },
            { key: 'team', value: 'db' },
            { key: 'tier', value: 'gold' },
          ],
        },
      ],
      total_count: 2,
      ...(svc === AS ? { marker: '2' } : {}),
    });
  });

  it('tags: every key must be present, with one of its values (case-sensitive)', async () => {
    expect(await ids({ tags: [{ key: 'env', values: ['prod'] }] })).toEqual(['c3', 'c1']);
    expect(await ids({ tags: [{ key: 'env', values: ['prod', 'dev'] }] })).toEqual([
      'c3',
      'c2',
      'c1',
    ]);
    expect(
      await ids({
        tags: [
          { key: 'env', values: ['prod'] },
          { key: 'team', values: ['web'] },
        ],
      }),
    ).toEqual(['c1']);
    expect(
      await ids({
        tags: [
          { key: 'env', values: ['prod'] },
          { key: 'team', values: ['web', 'db'] },
        ],
      }),
    ).toEqual(['c3', 'c1']);
    expect(await ids({ tags: [{ key: 'ENV', values: ['prod'] }] })).toEqual([]);
    expect(await ids({ tags: [{ key: 'env', values: ['PROD'] }] })).toEqual([]);
  });

  it('tags: empty or null values mean the key exists with any value', async () => {
    const withEnv = ['c7', 'c6', 'c4', 'c3', 'c2', 'c1'];
    expect(await ids({ tags: [{ key: 'env', values: [] }] })).toEqual(withEnv);
    expect(await ids({ tags: [{ key: 'env', values: null }] })).toEqual(withEnv);
    expect(
      await ids({
        tags: [
          { key: 'env', values: [] },
          { key: 'team', values: [] },
        ],
      }),
    ).toEqual(['c7', 'c6', 'c3', 'c2', 'c1']);
    expect(await ids({ tags: [{ key: 'nosuchkey', values: [] }] })).toEqual([]);
  });

  it('a value starting with * is a case-sensitive substring match; % and _ are literal', async () => {
    expect(await ids({ tags: [{ key: 'env', values: ['*ro'] }] })).toEqual([
      'c7',
      'c6',
      'c3',
      'c1',
    ]);
    expect(await ids({ tags: [{ key: 'env', values: ['*Pro'] }] })).toEqual(['c6']);
    expect(await ids({ tags: [{ key: 'env', values: ['*PRO'] }] })).toEqual([]);
    expect(await ids({ tags: [{ key: 'env', values: ['*_'] }] })).toEqual(['c7']);
    expect(await ids({ tags: [{ key: 'team', values: ['*.'] }] })).toEqual(['c7']);
    expect(await ids({ tags: [{ key: 'team', values: ['*web'] }] })).toEqual(['c6', 'c2', 'c1']);
    // Exact and substring values of one key combine with OR.
    expect(await ids({ tags: [{ key: 'env', values: ['test', '*od'] }] })).toEqual([
      'c6',
      'c4',
      'c3',
      'c1',
    ]);
  });

  it('tags_any: any listed condition holds', async () => {
    expect(
      await ids({
        tags_any: [
          { key: 'env', values: ['test'] },
          { key: 'team', values: ['db'] },
        ],
      }),
    ).toEqual(['c8', 'c4', 'c3']);
    expect(await ids({ tags_any: [{ key: 'tier', values: [] }] })).toEqual(['c3']);
    // A resource matching several alternatives comes once.
    expect(
      await ids({
        tags_any: [
          { key: 'env', values: ['prod'] },
          { key: 'team', values: ['db', 'web'] },
        ],
      }),
    ).toEqual(['c8', 'c3', 'c2', 'c1']);
  });

  it('not_tags: excludes resources matching all listed conditions', async () => {
    expect(
      await ids({
        not_tags: [
          { key: 'env', values: ['prod'] },
          { key: 'team', values: ['web'] },
        ],
      }),
    ).toEqual(NEWEST_FIRST.filter((id) => id !== 'c1'));
    expect(await ids({ not_tags: [{ key: 'env', values: ['prod'] }] })).toEqual(
      NEWEST_FIRST.filter((id) => id !== 'c1' && id !== 'c3'),
    );
  });

  it('not_tags_any: excludes resources matching any listed condition', async () => {
    expect(
      await ids({
        not_tags_any: [
          { key: 'env', values: ['prod'] },
          { key: 'team', values: ['web'] },
        ],
      }),
    ).toEqual(['c8', 'c7', 'c6', 'c5', 'c4']);
    expect(await ids({ not_tags_any: [{ key: 'env', values: [] }] })).toEqual(['c8', 'c5']);
    expect(await ids({ not_tags_any: [{ key: 'env', values: ['*o'] }] })).toEqual([
      'c8',
      'c5',
      'c4',
      'c2',
    ]);
  });

  it('the four lists combine with AND', async () => {
    expect(
      await ids({
        tags: [{ key: 'env', values: [] }],
        tags_any: [
          { key: 'team', values: ['web', 'db'] },
          { key: 'tier', values: ['gold'] },
        ],
        not_tags: [
          { key: 'team', values: ['web'] },
          { key: 'env', values: ['dev'] },
        ],
        not_tags_any: [{ key: 'tier', values: ['gold'] }],
      }),
    ).toEqual(['c1']);
    expect(
      await ids({
        tags: [{ key: 'env', values: ['prod'] }],
        tags_any: [{ key: 'team', values: ['db'] }],
      }),
    ).toEqual(['c3']);
  });

  it('contradictory conditions give an empty result, not an error', async () => {
    expect(
      await ids({
        tags: [{ key: 'env', values: ['prod'] }],
        not_tags_any: [{ key: 'env', values: ['prod'] }],
      }),
    ).toEqual([]);
    expect(
      await ids({
        tags: [{ key: 'env', values: ['prod'] }],
        not_tags: [{ key: 'env', values: [] }],
      }),
    ).toEqual([]);
    expect(
      await ids({
        tags: [{ key: 'env', values: ['prod'] }],
        tags_any: [{ key: 'env', values: ['dev'] }],
      }),
    ).toEqual([]);
  });

  it('empty lists are no condition', async () => {
    expect(await ids({ tags: [], tags_any: [], not_tags: [], not_tags_any: [] })).toEqual(
      NEWEST_FIRST,
    );
  });

  it('without_any_tag: only untagged resources, the tag lists ignored', async () => {
    expect(await ids({ without_any_tag: true })).toEqual(['c5']);
    expect(await ids({ without_any_tag: true, tags: [{ key: 'env', values: ['prod'] }] })).toEqual([
      'c5',
    ]);
    expect(await ids({ without_any_tag: false })).toEqual(NEWEST_FIRST);
    expect(
      await ids({ without_any_tag: true, matches: [{ key: 'resource_name', value: 'x' }] }),
    ).toEqual([]);
  });

  it('matches resource_name: case-sensitive substring, exact when empty', async () => {
    const m = (value: string) => ({ matches: [{ key: 'resource_name', value }] });
    expect(await ids(m('web'))).toEqual(['c2', 'c1']);
    expect(await ids(m('alpha'))).toEqual(['c1']);
    expect(await ids(m('Alpha'))).toEqual(['c6']);
    expect(await ids(m('%'))).toEqual(['c7']);
    expect(await ids(m('_'))).toEqual(['c7']);
    expect(await ids(m(''))).toEqual(['c5']);
    expect(await ids({ ...m('a'), tags: [{ key: 'team', values: ['db'] }] })).toEqual(['c8', 'c3']);
  });

  it('pages: limit and offset as integers or strings; every resource exactly once', async () => {
    for (const asString of [false, true]) {
      const seen: string[] = [];
      for (let offset = 0; offset < 10; offset += 3) {
        const res = await query({
          action: 'filter',
          limit: asString ? '3' : 3,
          offset: asString ? String(offset) : offset,
        });
        expect(res.statusCode).toBe(200);
        const b = json(res) as { resources: { resource_id: string }[]; total_count: number };
        expect(b.total_count).toBe(8);
        expect(b.resources.length).toBe(Math.max(0, Math.min(3, 8 - offset)));
        seen.push(...b.resources.map((r) => r.resource_id));
      }
      expect(seen).toEqual(NEWEST_FIRST);
    }
  });

  it('pages of a filtered query partition its matches', async () => {
    const all = await ids({ tags: [{ key: 'env', values: [] }] });
    const seen: string[] = [];
    for (let offset = 0; offset < all.length; offset += 4) {
      const res = await query({
        action: 'filter',
        tags: [{ key: 'env', values: [] }],
        limit: 4,
        offset,
      });
      const b = json(res) as { resources: { resource_id: string }[]; total_count: number };
      expect(b.total_count).toBe(all.length);
      seen.push(...b.resources.map((r) => r.resource_id));
    }
    expect(seen).toEqual(all);
  });

  it('limit defaults to 1000 and accepts 1000; an offset past the end is an empty page', async () => {
    const res = await query({ action: 'filter', limit: '1000', offset: 8 });
    expect(json(res)).toMatchObject({ resources: [], total_count: 8 });
  });

  it('count ignores limit and offset, even invalid ones', async () => {
    const res = await query({ action: 'count', limit: 'abc', offset: -5 });
    expect(res.statusCode).toBe(200);
    expect(json(res)).toEqual({ total_count: 8 });
  });

  const tooMany = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ key: `k${i}`, values: [] }));
  const invalid: [string, unknown][] = [
    ['tags not an array', { tags: { key: 'env', values: [] } }],
    ['11 keys', { tags: tooMany(11) }],
    [
      '11 values',
      { tags_any: [{ key: 'k', values: Array.from({ length: 11 }, (_, i) => `v${i}`) }] },
    ],
    [
      'a key twice in a list',
      {
        not_tags: [
          { key: 'k', values: [] },
          { key: 'k', values: ['x'] },
        ],
      },
    ],
    ['an empty key', { tags: [{ key: '', values: [] }] }],
    ['a missing key', { tags: [{ values: ['x'] }] }],
    ['a key of 128 characters', { tags: [{ key: 'k'.repeat(128), values: [] }] }],
    ['a value of 256 characters', { tags: [{ key: 'k', values: ['v'.repeat(256)] }] }],
    ["the value '*'", { tags: [{ key: 'k', values: ['*'] }] }],
    ['a number as value', { tags: [{ key: 'k', values: [1] }] }],
    ['a string as values', { tags: [{ key: 'k', values: 'x' }] }],
    ['a list item not an object', { tags: ['env'] }],
    ['limit 0', { limit: 0 }],
    ['limit 1001', { limit: '1001' }],
    ['limit -1', { limit: -1 }],
    ['limit 1.5', { limit: 1.5 }],
    ["limit 'ten'", { limit: 'ten' }],
    ['offset -1', { offset: -1 }],
    ["offset '1e3'", { offset: '1e3' }],
    ['without_any_tag not a boolean', { without_any_tag: 'yes' }],
    ['a value with U+0000', { tags: [{ key: 'k', values: ['a\u0000b'] }] }],
    ['a key with an unpaired surrogate', { tags: [{ key: 'k\ud800', values: [] }] }],
  ];

  it.each(invalid)('400 with the invalid-parameter code: %s', async (_what, extra) => {
    const res = await query({ action: 'filter', ...(extra as object) });
    expect(res.statusCode).toBe(400);
    expect(errorCode(res)).toBe(svc.invalidCode);
  });

  it.each([
    ['matches on another key', { matches: [{ key: 'resource_id', value: 'c1' }] }],
    ['matches value not a string', { matches: [{ key: 'resource_name', value: 1 }] }],
    ['matches not an array', { matches: { key: 'resource_name', value: 'x' } }],
    ['a name with U+0000', { matches: [{ key: 'resource_name', value: '\u0000' }] }],
  ])('400 with the invalid-matches code (AS.7052): %s', async (_what, extra) => {
    const res = await query({ action: 'filter', ...(extra as object) });
    expect(res.statusCode).toBe(400);
    expect(errorCode(res)).toBe(svc.matchesCode);
  });

  it('a value twice for a key → 400 with the duplicate-value code (AS.7054)', async () => {
    const res = await query({ action: 'filter', not_tags_any: [{ key: 'k', values: ['x', 'x'] }] });
    expect(res.statusCode).toBe(400);
    expect(errorCode(res)).toBe(svc.duplicateValueCode);
  });

  it.each([
    [
      'a value twice in tags, then bad matches → the value twice',
      { tags: [{ key: 'k', values: ['x', 'x'] }], matches: 5 },
      'duplicateValueCode',
    ],
    [
      'a value that is not a string, then the same value twice → the value',
      { tags: [{ key: 'k', values: ['x', 5, 'x'] }] },
      'invalidCode',
    ],
    [
      'a key twice in tags, then bad matches → the key twice',
      { tags: [{ key: 'k' }, { key: 'k' }], matches: 5 },
      'invalidCode',
    ],
    [
      'bad matches, then a bad limit → the matches',
      { matches: [{ key: 'other', value: 'x' }], limit: 'many' },
      'matchesCode',
    ],
  ] as const)('a body with several faults: %s', async (_what, body, code) => {
    const res = await query({ action: 'filter', ...body });
    expect(res.statusCode).toBe(400);
    expect(errorCode(res)).toBe(svc[code]);
  });

  it('limits at the edge are accepted: 10 keys, 10 values, 127-character keys', async () => {
    const res = await query({
      action: 'filter',
      tags: [
        ...tooMany(9),
        { key: 'k'.repeat(127), values: Array.from({ length: 10 }, (_, i) => `v${i}`) },
      ],
    });
    expect(res.statusCode).toBe(200);
    expect(json(res)).toMatchObject({ resources: [], total_count: 0 });
  });

  it('a matches value over the service limit is refused', async () => {
    const max = svc === AS ? 255 : 64;
    const ok = await query({
      action: 'count',
      matches: [{ key: 'resource_name', value: 'a'.repeat(max) }],
    });
    expect(ok.statusCode).toBe(200);
    const res = await query({
      action: 'count',
      matches: [{ key: 'resource_name', value: 'a'.repeat(max + 1) }],
    });
    expect(res.statusCode).toBe(400);
    expect(errorCode(res)).toBe(svc.matchesCode);
  });

  it.each([
    ['missing', {}],
    ['capitalised', { action: 'Filter' }],
    ['another verb', { action: 'create' }],
  ])('action %s → 400', async (_what, body) => {
    const res = await query(body);
    expect(res.statusCode).toBe(400);
    expect(errorCode(res)).toBe(svc.actionCode);
  });

  it('a body that is not JSON → 400', async () => {
    const res = await query('{"action":');
    expect(res.statusCode).toBe(400);
    expect(errorCode(res)).toBe(svc.invalidCode);
  });

  it('callers outside the project, IAM users without a policy and domain tokens are refused', async () => {
    const stranger = await h.tenant();
    for (const token of [stranger.root.token, t.root.domainToken]) {
      const res = await query({ action: 'count' }, token);
      expect(res.statusCode).toBe(svc.scope.status);
      expect(errorCode(res)).toBe(svc.scope.code);
    }
    const refused = await query({ action: 'count' }, t.iamUser.token);
    expect(refused.statusCode).toBe(svc.policy.status);
    expect(errorCode(refused)).toBe(svc.policy.code);
    const anonymous = await h.inject({
      method: 'POST',
      url: svc.url(t.projectId),
      headers: { 'content-type': 'application/json' },
      payload: '{"action":"count"}',
    });
    expect(anonymous.statusCode).toBe(401);
  });
});

describe('ordering', () => {
  let h: Harness;
  let t: Tenant;
  beforeAll(async () => {
    h = await createHarness();
    t = await h.tenant();
  });
  afterAll(() => h.close());

  it('newest registration first; resources registered together by resource id', async () => {
    await h.seed({
      resources: ['b', 'c', 'a'].map((id) => ({
        project_id: t.projectId,
        type: 'mrs_cluster',
        id,
      })),
    });
    await h.seed({ resources: [{ project_id: t.projectId, type: 'mrs_cluster', id: '0-last' }] });
    const res = await h.inject({
      method: 'POST',
      url: `/v1.1/${t.projectId}/clusters/resource_instances/action`,
      headers: { 'x-auth-token': t.root.token, 'content-type': 'application/json' },
      payload: '{"action":"filter"}',
    });
    const b = json(res) as { resources: { resource_id: string }[] };
    expect(b.resources.map((r) => r.resource_id)).toEqual(['0-last', 'a', 'b', 'c']);
  });

  it('% in a substring value is a literal character', async () => {
    const p = await h.tenant();
    for (const [id, value] of [
      ['m1', '10%'],
      ['m2', '100'],
      ['m3', '1%0'],
    ]) {
      await h.seed({
        resources: [
          { project_id: p.projectId, type: 'mrs_cluster', id, tags: [{ key: 'rate', value }] },
        ],
      });
    }
    const filter = async (value: string) => {
      const res = await h.inject({
        method: 'POST',
        url: `/v1.1/${p.projectId}/clusters/resource_instances/action`,
        headers: { 'x-auth-token': p.root.token, 'content-type': 'application/json' },
        payload: JSON.stringify({ action: 'filter', tags: [{ key: 'rate', values: [value] }] }),
      });
      return (json(res) as { resources: { resource_id: string }[] }).resources.map(
        (r) => r.resource_id,
      );
    };
    expect(await filter('*%')).toEqual(['m3', 'm1']);
    expect(await filter('*0%')).toEqual(['m1']);
    expect(await filter('*1%0')).toEqual(['m3']);
  });

  it('an empty project answers an empty page', async () => {
    const res = await h.inject({
      method: 'POST',
      url: `/autoscaling-api/v1/${t.projectId}/scaling_group_tag/resource_instances/action`,
      headers: { 'x-auth-token': t.root.token, 'content-type': 'application/json' },
      payload: '{"action":"filter","tags":[{"key":"env","values":["prod"]}]}',
    });
    expect(json(res)).toEqual({ resources: [], total_count: 0, marker: '0' });
  });
});
