import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, type Tenant } from '../../support/harness.js';
import type { RouteRequest } from '../../support/routes.js';
import { MODELARTS, sortTags, tagsN } from '../../support/service-spec.js';
import { signed, withToken } from '../../support/signing.js';
import { TagApi } from '../../support/tag-api.js';
import { astral } from '../../support/text-samples.js';

/**
 * SPEC §3.1: what only ModelArts Lite Server supernode tags do — answers with the tags written,
 * no overwrite and no idempotence, the 'sys' prefix, messages naming the rule, 403 scopes. Its
 * lengths, character sets, limits and unknown supernodes are tested in rules.test.ts.
 */

// Revision 2: every tag error is the documented "Invalid Argument" code, its message saying
// which rule.
const INVALID = 'ModelArts.0101';
const EXISTS = INVALID;
const ABSENT = INVALID;
const TOO_MANY = INVALID;

let h: Harness;
let t: Tenant;
let api: TagApi;

beforeAll(async () => {
  h = await createHarness();
  t = await h.tenant();
  api = new TagApi(h, t, MODELARTS);
});
afterAll(() => h.close());

const url = (id: string) => `/v1/${t.projectId}/dev-servers/hyperinstance/${id}/tags`;

describe('create', () => {
  it('answers 200 with the tags created, in request order', async () => {
    const id = await api.resource([{ key: 'old', value: 'o' }]);
    const tags = [
      { key: 'zeta', value: 'z' },
      { key: 'alpha', value: '' },
    ];
    const res = await api.send('POST', `${url(id)}/create`, { tags });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(res.body)).toEqual({ tags });
    expect(await api.list(id)).toEqual(sortTags([...tags, { key: 'old', value: 'o' }]));
  });

  describe("key: must not start with 'sys' (case-sensitive); 'sys' elsewhere is allowed", () => {
    it.each([
      ['sys', 'sys'],
      ['starts with sys', 'system'],
      ['sys and a symbol', 'sys.x'],
    ])('%s (%s) → 400 ModelArts.0101 naming the rule', async (_label, key) => {
      const message = await api.refusesCreate([{ key, value: 'v' }], INVALID);
      expect(message).toMatch(/^Invalid Argument: /);
      expect(message).toContain("must not start with 'sys'");
    });

    // The seed's "cannot start or end with sys" is the shortened form of the published "cannot
    // start or end with a space or start with sys".
    it.each([
      ['ends with sys', 'mysys'],
      ['ends with sys', 'ecosys'],
      ['ends with sys', 'filesys'],
      ['ends with _sys', 'a_sys'],
      ['starts with _sys_', '_sys_tag'],
      ['is _sys_', '_sys_'],
      ['Sys', 'Sys'],
      ['SYSTEM', 'SYSTEM'],
      ['ends with Sys', 'fileSys'],
      ['sys inside', 'mysystem1'],
      ['_SYS_ upper-case', '_SYS_x'],
    ])('%s (%s) → accepted', async (_label, key) => {
      await api.acceptsCreate([{ key, value: 'v' }]);
    });

    it('the value may be sys', async () => {
      await api.acceptsCreate([{ key: 'k', value: 'sys' }]);
    });
  });

  describe('existing and duplicate keys', () => {
    it('a key the supernode already has → 400 ModelArts.0101, even with the same value', async () => {
      const id = await api.resource([{ key: 'env', value: 'dev' }]);
      for (const value of ['dev', 'prod']) {
        const message = await api.expectRefused(
          id,
          () =>
            api.create(id, [
              { key: 'new', value: 'x' },
              { key: 'env', value },
            ]),
          EXISTS,
        );
        expect(message).toMatch(/^Invalid Argument: /);
        expect(message).toContain("'env' already exists");
      }
    });

    it('creating the same tags twice: the second call → 0101 (not idempotent)', async () => {
      const id = await api.resource();
      api.expectWritten(await api.create(id, tagsN(2)), tagsN(2));
      await api.expectRefused(id, () => api.create(id, tagsN(2)), EXISTS);
    });

    it('keys differing only in case are different keys', async () => {
      const id = await api.resource([{ key: 'env', value: 'dev' }]);
      api.expectWritten(await api.create(id, [{ key: 'Env', value: 'x' }]), [
        { key: 'Env', value: 'x' },
      ]);
    });
  });

  describe('at most 20 tags after the merge', () => {
    it('10 existing + 10 new → 200; 10 existing + 11 new → 0101', async () => {
      const id = await api.resource(tagsN(10));
      const message = await api.expectRefused(id, () => api.create(id, tagsN(11, 'n')), TOO_MANY);
      expect(message).toMatch(/^Invalid Argument: .*at most 20 tags/);
      api.expectWritten(await api.create(id, tagsN(10, 'n')), tagsN(10, 'n'));
      expect(await api.list(id)).toHaveLength(20);
    });
  });
});

describe('delete', () => {
  it('by key: answers 200 with the tags deleted (with their values)', async () => {
    const id = await api.resource(tagsN(3));
    const res = await api.send('POST', `${url(id)}/delete`, {
      tags: [{ key: 'k2' }, { key: 'k0' }],
    });
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual({
      tags: [
        { key: 'k2', value: 'v2' },
        { key: 'k0', value: 'v0' },
      ],
    });
    expect(await api.list(id)).toEqual([{ key: 'k1', value: 'v1' }]);
  });

  it('by key and value: removed when both match', async () => {
    const id = await api.resource(tagsN(2));
    api.expectWritten(await api.remove(id, [{ key: 'k1', value: 'v1' }]), [
      { key: 'k1', value: 'v1' },
    ]);
    expect(await api.list(id)).toEqual([{ key: 'k0', value: 'v0' }]);
  });

  it('an empty value matches only an empty value', async () => {
    const id = await api.resource([
      { key: 'blank', value: '' },
      { key: 'full', value: 'x' },
    ]);
    await api.expectRefused(id, () => api.remove(id, [{ key: 'full', value: '' }]), ABSENT);
    api.expectWritten(await api.remove(id, [{ key: 'blank', value: '' }]), [
      { key: 'blank', value: '' },
    ]);
  });

  it('a value that does not match → 400 ModelArts.0101, nothing deleted', async () => {
    const id = await api.resource(tagsN(2));
    const message = await api.expectRefused(
      id,
      () => api.remove(id, [{ key: 'k0' }, { key: 'k1', value: 'other' }]),
      ABSENT,
    );
    expect(message).toMatch(/^Invalid Argument: /);
    expect(message).toContain("'k1' with value 'other' does not exist");
  });

  it('a key the supernode lacks → 400 ModelArts.0101, nothing deleted', async () => {
    const id = await api.resource(tagsN(2));
    await api.expectRefused(id, () => api.remove(id, [{ key: 'k0' }, { key: 'nope' }]), ABSENT);
  });

  it('deleting the same tag twice: the second call → 0101 (not idempotent)', async () => {
    const id = await api.resource(tagsN(1));
    api.expectWritten(await api.remove(id, [{ key: 'k0' }]), [{ key: 'k0', value: 'v0' }]);
    await api.expectRefused(id, () => api.remove(id, [{ key: 'k0' }]), ABSENT);
  });

  it('keys are matched by code point: an astral key of 128 characters', async () => {
    const id = await api.resource([{ key: astral(128), value: 'v' }]);
    api.expectWritten(await api.remove(id, [{ key: astral(128) }]), [
      { key: astral(128), value: 'v' },
    ]);
    expect(await api.list(id)).toEqual([]);
  });
});

describe('list', () => {
  it('an untagged supernode → {"tags":[]}', async () => {
    const id = await api.resource();
    expect(JSON.parse((await api.listRaw(id)).body)).toEqual({ tags: [] });
  });
});

describe('scope: 403 ModelArts.0210 for another project, ModelArts.0108 for another domain', () => {
  const requests = (id: string): [RouteRequest, string][] => [
    [
      {
        method: 'POST',
        url: `${url(id)}/create`,
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ tags: [{ key: 'n', value: 'v' }] }),
      },
      'modelarts:hyperinstance:createTags',
    ],
    [
      {
        method: 'POST',
        url: `${url(id)}/delete`,
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ tags: [{ key: 'k0' }] }),
      },
      'modelarts:hyperinstance:deleteTags',
    ],
    [{ method: 'GET', url: url(id), headers: {} }, 'modelarts:hyperinstance:listTags'],
  ];

  it('a token scoped to another project, or to the domain: ModelArts.0210, nothing changes', async () => {
    const other = await h.tenant();
    const id = await api.resource(tagsN(1));
    for (const token of [other.root.token, t.root.domainToken]) {
      for (const [req] of requests(id)) {
        const message = api.expectError(
          await h.inject(withToken(req, token)),
          'ModelArts.0210',
          403,
        );
        expect(message).toBe('The project id in the request URL does not match the token.');
      }
    }
    expect(await api.list(id)).toEqual(tagsN(1));
  });

  it("another domain's signing key: ModelArts.0108 naming the operation, nothing changes", async () => {
    const other = await h.tenant();
    const id = await api.resource(tagsN(1));
    for (const [req, action] of requests(id)) {
      const message = api.expectError(
        await h.inject(signed(req, other.root)),
        'ModelArts.0108',
        403,
      );
      expect(message).toBe(`You are not authorized to perform the (${action}) operation.`);
    }
    expect(await api.list(id)).toEqual(tagsN(1));
  });

  it('an IAM user of the domain needs no permission (the seed)', async () => {
    const id = await api.resource(tagsN(1));
    for (const [req] of requests(id)) {
      const res = await h.inject(withToken(req, t.iamUser.token));
      expect(res.statusCode, res.body).toBe(200);
    }
  });
});

describe('statuses: 200, 400, 401, 403 and 500 only (the seed lists no 404)', () => {
  it('every refusal of the three operations is one of them', async () => {
    const other = await h.tenant();
    const id = await api.resource(tagsN(1));
    const statuses = new Set<number>();
    const answers = [
      await api.create('no-such-node', tagsN(1)),
      await api.remove('no-such-node', [{ key: 'k0' }]),
      await api.listRaw('no-such-node'),
      await api.create(id, [{ key: 'k0', value: 'v' }]),
      await api.remove(id, [{ key: 'absent' }]),
      await api.create(id, tagsN(21, 'n')),
      await api.createRaw(id, ''),
      await api.createRaw(id, '{'),
      await h.inject({ method: 'GET', url: url(id) }),
      await h.inject(withToken({ method: 'GET', url: url(id), headers: {} }, other.root.token)),
      await h.inject(signed({ method: 'GET', url: url(id), headers: {} }, other.root)),
    ];
    for (const res of answers) statuses.add(res.statusCode);
    expect([...statuses].sort()).toEqual([400, 401, 403]);
  });
});
