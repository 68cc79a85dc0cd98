import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, type Tenant } from '../../support/harness.js';
import { BMS, sortTags, tagsN } from '../../support/service-spec.js';
import { TagApi } from '../../support/tag-api.js';
import { astral, CONTROL_CHARS, chars, cjk } from '../../support/text-samples.js';

/** SPEC §3.2: Bare Metal Server tags. */

const MALFORMED = 'BMS.0001';
const INVALID = 'BMS.0022';
const NOT_FOUND = 'BMS.0040';
const FORBIDDEN = '=*<>\\,|/';

let h: Harness;
let t: Tenant;
let api: TagApi;

beforeAll(async () => {
  h = await createHarness();
  t = await h.tenant();
  api = new TagApi(h, t, BMS);
});
afterAll(() => h.close());

const actionUrl = (id: string) => `/v1/${t.projectId}/baremetalservers/${id}/tags/action`;

describe('create', () => {
  it('answers 204 with no body', async () => {
    const id = await api.resource();
    const res = await api.send('POST', actionUrl(id), {
      action: 'create',
      tags: [{ key: 'env', value: 'dev' }],
    });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(await api.list(id)).toEqual([{ key: 'env', value: 'dev' }]);
  });

  describe('key length: 1–36 code points', () => {
    it.each([
      ['36 ASCII letters', 'k'.repeat(36)],
      ['36 astral letters (72 UTF-16 units)', astral(36)],
      ['36 CJK characters', cjk(36)],
      ['35 letters and one astral letter', `${'a'.repeat(35)}${astral(1)}`],
    ])('%s → accepted', async (_label, key) => {
      await api.acceptsCreate([{ key, value: 'v' }]);
    });

    it.each([
      ['37 ASCII letters', 'k'.repeat(37)],
      ['37 astral letters', astral(37)],
      ['empty', ''],
    ])('%s → 400 BMS.0022', async (_label, key) => {
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
    ])('%s → 400 BMS.0022', async (_label, value) => {
      await api.refusesCreate([{ key: 'k', value }], INVALID);
    });
  });

  describe('characters: no ASCII 0–31 and none of = * < > \\ , | /', () => {
    it.each(chars(FORBIDDEN))('key with %s → 400', async (_label, ch) => {
      await api.refusesCreate([{ key: `a${ch}b`, value: 'v' }], INVALID);
    });

    it.each(chars(FORBIDDEN))('value with %s → 400', async (_label, ch) => {
      await api.refusesCreate([{ key: 'k', value: `a${ch}b` }], INVALID);
    });

    it.each(CONTROL_CHARS)('key with control character %s → 400', async (_label, ch) => {
      await api.refusesCreate([{ key: `a${ch}b`, value: 'v' }], INVALID);
    });

    it.each(CONTROL_CHARS)('value with control character %s → 400', async (_label, ch) => {
      await api.refusesCreate([{ key: 'k', value: `a${ch}b` }], INVALID);
    });

    it('every other printable character is accepted in keys and values', async () => {
      await api.acceptsCreate([
        { key: 'a b.c:d@e#f$g%h^i&j(k)l[m]n{o}p', value: '~`!?;\'"+_-.:@# $%^&()[]{}' },
        { key: `Größe 数据 ${astral(2)} 😀`, value: `Ωμέγα ${astral(3)}` },
        { key: 'sys', value: 'sys' },
        { key: '_sys_k', value: '' },
      ]);
    });
  });

  describe('value: optional, a string when given', () => {
    it('absent → stored as ""', async () => {
      const id = await api.resource();
      api.expectWritten(await api.create(id, [{ key: 'k' }]));
      expect(await api.list(id)).toEqual([{ key: 'k', value: '' }]);
    });

    it.each([
      ['null', null],
      ['a number', 7],
    ])('%s → 400 BMS.0022', async (_label, value) => {
      await api.refusesCreate([{ key: 'k', value }], INVALID);
    });
  });

  it('a key twice in the request → 400 BMS.0022, even with the same value', async () => {
    await api.refusesCreate(
      [
        { key: 'a', value: '1' },
        { key: 'a', value: '1' },
      ],
      INVALID,
    );
  });

  describe('idempotent; an existing key is overwritten', () => {
    it('the same tags twice → 204 both times, stored once', async () => {
      const id = await api.resource();
      api.expectWritten(await api.create(id, tagsN(2)));
      api.expectWritten(await api.create(id, tagsN(2)));
      expect(await api.list(id)).toEqual(tagsN(2));
    });

    it('same key, new value → the value is replaced', async () => {
      const id = await api.resource(tagsN(2));
      api.expectWritten(await api.create(id, [{ key: 'k1', value: 'new' }]));
      expect(await api.list(id)).toEqual([
        { key: 'k0', value: 'v0' },
        { key: 'k1', value: 'new' },
      ]);
    });
  });

  describe('at most 20 tags after the merge', () => {
    it('20 tags: overwriting one → 204', async () => {
      const id = await api.resource(tagsN(20));
      api.expectWritten(await api.create(id, [{ key: 'k5', value: 'x' }]));
      expect(await api.list(id)).toContainEqual({ key: 'k5', value: 'x' });
    });

    it('19 tags: one overwrite and one new → 204 (20)', async () => {
      const id = await api.resource(tagsN(19));
      api.expectWritten(
        await api.create(id, [
          { key: 'k0', value: 'x' },
          { key: 'n', value: '' },
        ]),
      );
      expect(await api.list(id)).toHaveLength(20);
    });

    it('19 tags: two new → 400 BMS.0022, nothing written', async () => {
      const id = await api.resource(tagsN(19));
      await api.expectRefused(id, () => api.create(id, tagsN(2, 'n')), INVALID);
    });
  });
});

describe('action', () => {
  it.each([
    ['Create', 'Create'],
    ['CREATE', 'CREATE'],
    ['Delete', 'Delete'],
    ['with a space', 'create '],
    ['update', 'update'],
    ['empty', ''],
    ['a number', 1],
    ['null', null],
  ])('%s → 400 BMS.0022', async (_label, action) => {
    const id = await api.resource(tagsN(1));
    await api.expectRefused(
      id,
      () => api.send('POST', actionUrl(id), { action, tags: [{ key: 'k0' }] }),
      INVALID,
    );
  });

  it('missing → 400 BMS.0022', async () => {
    const id = await api.resource(tagsN(1));
    await api.expectRefused(
      id,
      () => api.send('POST', actionUrl(id), { tags: [{ key: 'n', value: 'v' }] }),
      INVALID,
    );
  });

  it('a body that is not an object → 400 BMS.0001', async () => {
    const id = await api.resource(tagsN(1));
    await api.expectRefused(id, () => api.send('POST', actionUrl(id), '["create"]'), MALFORMED);
  });
});

describe('delete', () => {
  it('by key → 204 with no body; the tag goes whatever its value', async () => {
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
        { key: 'k1', value: 'other' },
      ]),
    );
    expect(await api.list(id)).toEqual([
      { key: 'k1', value: 'v1' },
      { key: 'k2', value: 'v2' },
    ]);
  });

  it('an empty value matches only an empty value', async () => {
    const id = await api.resource([
      { key: 'blank', value: '' },
      { key: 'full', value: 'x' },
    ]);
    api.expectWritten(
      await api.remove(id, [
        { key: 'blank', value: '' },
        { key: 'full', value: '' },
      ]),
    );
    expect(await api.list(id)).toEqual([{ key: 'full', value: 'x' }]);
  });

  it('absent tags → 204, the others still go', async () => {
    const id = await api.resource(tagsN(2));
    api.expectWritten(await api.remove(id, [{ key: 'nope' }, { key: 'k0' }]));
    api.expectWritten(await api.remove(id, [{ key: 'k0' }]));
    expect(await api.list(id)).toEqual([{ key: 'k1', value: 'v1' }]);
  });

  // Deleting BMS Tags (API reference, 2025-12-09): the key "contains a maximum of 36 Unicode
  // characters and cannot be empty"; the value, as on create, "cannot contain ASCII characters
  // (0–31) or special characters =*<>\,|/".
  it("a value's characters are checked as on create", async () => {
    for (const ch of [...FORBIDDEN, '\t', '\u0000', '\u001f']) {
      const id = await api.resource(tagsN(2));
      const message = await api.expectRefused(
        id,
        () => api.remove(id, [{ key: 'k1' }, { key: 'k0', value: `v${ch}` }]),
        INVALID,
      );
      expect(message).toContain('tags[1].value');
    }
  });

  it("a key's characters are not checked: a key no tag can have is simply absent", async () => {
    const id = await api.resource(tagsN(1));
    api.expectWritten(
      await api.remove(id, [{ key: `a${FORBIDDEN}b` }, { key: 'k\tx', value: 'xyz' }]),
    );
    expect(await api.list(id)).toEqual(tagsN(1));
  });

  it.each([
    ['36-character key', { key: astral(36) }],
    ['43-character value', { key: 'k', value: astral(43) }],
  ])('%s → 204', async (_label, tag) => {
    const id = await api.resource(tagsN(1));
    api.expectWritten(await api.remove(id, [tag]));
  });

  it.each([
    ['37-character key', { key: astral(37) }],
    ['44-character value', { key: 'k0', value: astral(44) }],
    ['empty key', { key: '' }],
    ['missing key', { value: 'v0' }],
    ['null value', { key: 'k0', value: null }],
  ])('%s → 400 BMS.0022, nothing deleted', async (_label, tag) => {
    const id = await api.resource(tagsN(2));
    await api.expectRefused(id, () => api.remove(id, [{ key: 'k1' }, tag]), INVALID);
  });
});

it('an unknown server → 400 BMS.0040 on create, delete and list', async () => {
  const ddm = await t.resource('ddm_instance');
  for (const id of ['no-such-server', ddm]) {
    api.expectError(await api.create(id, tagsN(1)), NOT_FOUND, 400);
    api.expectError(await api.remove(id, [{ key: 'k0' }]), NOT_FOUND, 400);
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
