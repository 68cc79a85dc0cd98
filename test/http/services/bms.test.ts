import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, type Tenant } from '../../support/harness.js';
import { BMS, tagsN } from '../../support/service-spec.js';
import { TagApi } from '../../support/tag-api.js';

/**
 * SPEC §3.2: what only Bare Metal Server tags do — the lowercase action, overwrites, delete by key
 * and value with its values' characters checked. Its lengths, character sets, limits and unknown
 * servers are tested in rules.test.ts.
 */

const MALFORMED = 'BMS.0001';
const INVALID = 'BMS.0022';
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
});
