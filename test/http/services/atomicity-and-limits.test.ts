import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROFILES } from '../../../src/services/registry.js';
import { createHarness, type Harness, type Tenant } from '../../support/harness.js';
import { SERVICE_SPECS, type ServiceId, sortTags, tagsN } from '../../support/service-spec.js';
import { expectError, TagApi } from '../../support/tag-api.js';

/**
 * The rules of SPEC §2 that hold for every tag API, run once per service profile. Expected codes
 * and paths come from SPEC (test/support/service-spec.ts), not from the profiles themselves.
 */

let h: Harness;
let t: Tenant;

beforeAll(async () => {
  h = await createHarness();
  t = await h.tenant();
});
afterAll(() => h.close());

const services = PROFILES.map((p) => {
  const spec = SERVICE_SPECS[p.id as ServiceId];
  if (!spec) throw new Error(`no SPEC expectations written for service profile '${p.id}'`);
  return [p.id, spec] as const;
});

describe.each(services)('%s', (_id, spec) => {
  const api = () => new TagApi(h, t, spec);
  const c = spec.codes;

  describe('atomic writes', () => {
    it('a create with one bad tag after good ones writes nothing', async () => {
      const a = api();
      const id = await a.resource(tagsN(2));
      const batch = [
        { key: 'new1', value: 'x' },
        ...(spec.overwrites ? [{ key: 'k0', value: 'changed' }] : [{ key: 'new2', value: 'y' }]),
        { key: '', value: 'bad' },
      ];
      await a.expectRefused(id, () => a.create(id, batch), c.keyEmpty);
    });

    it('a create whose last value is too long writes nothing', async () => {
      const a = api();
      const id = await a.resource(tagsN(1));
      const batch = [...tagsN(3, 'n'), { key: 'last', value: 'v'.repeat(spec.valueMax + 1) }];
      await a.expectRefused(id, () => a.create(id, batch), c.valueTooLong);
    });

    it('a delete with one bad selector removes nothing', async () => {
      const a = api();
      const id = await a.resource(tagsN(3));
      await a.expectRefused(
        id,
        () => a.remove(id, [{ key: 'k0' }, { key: 'k1' }, { key: '' }]),
        c.keyEmpty,
      );
    });

    it('create, delete and list of an unknown resource answer its not-found error', async () => {
      const a = api();
      const missing = `missing-${Date.now()}`;
      const { status, code } = c.notFound;
      a.expectError(await a.create(missing, tagsN(1)), code, status);
      a.expectError(await a.remove(missing, [{ key: 'k0' }]), code, status);
      a.expectError(await a.listRaw(missing), code, status);
    });

    it('a resource of another type with the same id is not found', async () => {
      const a = api();
      const other = PROFILES.find((p) => p.resourceType !== spec.type)!;
      const id = await t.resource(other.resourceType, tagsN(1));
      a.expectError(await a.create(id, tagsN(1, 'x')), c.notFound.code, c.notFound.status);
      a.expectError(await a.listRaw(id), c.notFound.code, c.notFound.status);
    });
  });

  describe(`the limit of ${spec.maxTags} tags, counted after the merge`, () => {
    it(`creating exactly ${spec.maxTags} tags on an empty resource succeeds`, async () => {
      await api().acceptsCreate(tagsN(spec.maxTags));
    });

    it(`creating ${spec.maxTags + 1} tags on an empty resource fails`, async () => {
      const a = api();
      const id = await a.resource();
      await a.expectRefused(id, () => a.create(id, tagsN(spec.maxTags + 1)), c.tooMany);
    });

    it('the last free place can be taken, then no more', async () => {
      const a = api();
      const id = await a.resource(tagsN(spec.maxTags - 1));
      a.expectWritten(await a.create(id, [{ key: 'last', value: 'x' }]), [
        { key: 'last', value: 'x' },
      ]);
      expect(await a.list(id)).toHaveLength(spec.maxTags);
      const message = await a.expectRefused(
        id,
        () => a.create(id, [{ key: 'one', value: 'more' }]),
        c.tooMany,
      );
      expect(message).toContain(String(spec.maxTags));
    });

    it('a delete frees a place', async () => {
      const a = api();
      const id = await a.resource(tagsN(spec.maxTags));
      a.expectWritten(await a.remove(id, [{ key: 'k0', value: 'v0' }]), [
        { key: 'k0', value: 'v0' },
      ]);
      a.expectWritten(await a.create(id, [{ key: 'new', value: 'x' }]), [
        { key: 'new', value: 'x' },
      ]);
      expect(await a.list(id)).toHaveLength(spec.maxTags);
    });

    if (spec.overwrites) {
      it('overwriting a key of a full resource does not count it twice', async () => {
        const a = api();
        const id = await a.resource(tagsN(spec.maxTags));
        const tags = [
          { key: 'k0', value: 'new0' },
          { key: 'k1', value: 'v1' },
        ];
        a.expectWritten(await a.create(id, tags));
        const after = await a.list(id);
        expect(after).toHaveLength(spec.maxTags);
        expect(after).toContainEqual({ key: 'k0', value: 'new0' });
      });

      it('an overwrite plus one new key on a full resource fails whole', async () => {
        const a = api();
        const id = await a.resource(tagsN(spec.maxTags));
        await a.expectRefused(
          id,
          () =>
            a.create(id, [
              { key: 'k0', value: 'changed' },
              { key: 'new', value: 'x' },
            ]),
          c.tooMany,
        );
      });
    }

    it('concurrent writers cannot push a resource over its limit', async () => {
      const a = api();
      const id = await a.resource();
      const results = await Promise.all(
        tagsN(spec.maxTags * 2, 'c').map((tag) => a.create(id, [tag])),
      );
      const ok = results.filter((r) => r.statusCode === spec.writeStatus);
      const refused = results.filter((r) => r.statusCode !== spec.writeStatus);
      expect(ok).toHaveLength(spec.maxTags);
      for (const r of refused) a.expectError(r, c.tooMany);
      expect(await a.list(id)).toHaveLength(spec.maxTags);
    });
  });

  describe('the 1,000-item cap on a tags array', () => {
    it('a create with 1,001 items is refused before any item is read', async () => {
      const a = api();
      const id = await a.resource(tagsN(1));
      await a.expectRefused(id, () => a.create(id, Array(1001).fill(null)), c.tooMany);
    });

    it('the cap is checked before the resource is looked up', async () => {
      const a = api();
      a.expectError(await a.create('no-such-resource', Array(1001).fill(null)), c.tooMany);
    });

    it('a delete with 1,000 items is read; with 1,001 it is refused', async () => {
      const a = api();
      const id = await a.resource(tagsN(2));
      const absent = tagsN(1000, 'absent').map(({ key }) => ({ key }));
      const res = await a.remove(id, absent);
      if (spec.absentDeleteSucceeds) a.expectWritten(res, []);
      else a.expectError(res, c.tagAbsent!);
      await a.expectRefused(id, () => a.remove(id, [...absent, { key: 'k0' }]), c.tooMany);
      expect(await a.list(id)).toEqual(tagsN(2));
    });
  });

  describe('a body with several faults: the first in request order is reported', () => {
    it('a key repeated before a bad tag → the repeated key', async () => {
      const tags = [{ key: 'a', value: '1' }, { key: 'a', value: '2' }, { key: '' }];
      await api().refusesCreate(tags, c.duplicate);
    });

    it('a bad tag before a repeated key → the bad tag', async () => {
      const tags = [{ key: 'a', value: '1' }, { key: '' }, { key: 'a', value: '2' }];
      await api().refusesCreate(tags, c.keyEmpty);
    });

    it("a tag repeating a key, with a value that is not a string → the value's type", async () => {
      const tags = [
        { key: 'a', value: '1' },
        { key: 'a', value: 2 },
      ];
      await api().refusesCreate(tags, c.valueType);
    });

    it('a bad key before a bad value of the same tag → the key', async () => {
      await api().refusesCreate([{ key: 7, value: 7 }], c.keyType);
    });
  });

  describe('types: keys and values must be JSON strings', () => {
    const keyCases: [string, unknown, keyof typeof c][] = [
      ['a number', 5, 'keyType'],
      ['a boolean', true, 'keyType'],
      ['an object', { k: 'v' }, 'keyType'],
      ['an array', ['k'], 'keyType'],
      ['null', null, 'keyMissing'],
    ];
    it.each(keyCases)('create: key %s → 400', async (_label, key, kind) => {
      await api().refusesCreate([{ key, value: 'v' }], c[kind] as string);
    });

    it('create: key absent → 400', async () => {
      await api().refusesCreate([{ value: 'v' }], c.keyMissing);
    });

    const valueCases: [string, unknown, keyof typeof c][] = [
      ['a number', 5, 'valueType'],
      ['a boolean', false, 'valueType'],
      ['an object', { v: 1 }, 'valueType'],
      ['an array', ['v'], 'valueType'],
      ['null', null, 'valueNull'],
    ];
    it.each(valueCases)('create: value %s → 400', async (_label, value, kind) => {
      await api().refusesCreate([{ key: 'k', value }], c[kind] as string);
    });

    it.each(keyCases)('delete: key %s → 400', async (_label, key, kind) => {
      const a = api();
      const id = await a.resource(tagsN(2));
      await a.expectRefused(id, () => a.remove(id, [{ key: 'k0' }, { key }]), c[kind] as string);
    });

    it.each(valueCases)('delete: value %s → 400', async (_label, value, kind) => {
      const a = api();
      const id = await a.resource(tagsN(2));
      await a.expectRefused(
        id,
        () => a.remove(id, [{ key: 'k0' }, { key: 'k1', value }]),
        c[kind] as string,
      );
    });

    it.each([
      ['a string', 'k'],
      ['a number', 1],
      ['null', null],
      ['an array', [{ key: 'k', value: 'v' }]],
    ])('create: a tags item that is %s → 400', async (_label, item) => {
      await api().refusesCreate([{ key: 'ok', value: 'v' }, item], c.tagMalformed);
    });

    it.each([
      ['a string', 'tags'],
      ['an object', { key: 'k', value: 'v' }],
      ['a number', 3],
    ])('create: a tags field that is %s → 400', async (_label, tags) => {
      await api().refusesCreate(tags, c.malformed);
    });

    it.each([
      ['missing', undefined],
      ['null', null],
    ])('create and delete: a tags field %s → 400', async (_label, tags) => {
      const a = api();
      const id = await a.resource(tagsN(1));
      await a.expectRefused(id, () => a.create(id, tags), c.tagsMissing);
      await a.expectRefused(id, () => a.remove(id, tags), c.tagsMissing);
    });

    it('an empty value is a value', async () => {
      await api().acceptsCreate([{ key: 'k', value: '' }]);
    });

    if (spec.valueOptional) {
      it('an absent value means ""', async () => {
        const a = api();
        const id = await a.resource();
        a.expectWritten(await a.create(id, [{ key: 'k' }]));
        expect(await a.list(id)).toEqual([{ key: 'k', value: '' }]);
      });
    } else {
      it('the value is mandatory on create', async () => {
        await api().refusesCreate([{ key: 'ok', value: 'v' }, { key: 'k' }], c.valueMissing);
      });
    }

    it('an unpaired surrogate escape in a key or value → 400 (it is not a character)', async () => {
      const a = api();
      await a.refusesCreate(
        [
          { key: 'ok', value: 'v' },
          { key: 'k\ud800', value: 'v' },
        ],
        c.keyInvalid,
      );
      await a.refusesCreate([{ key: 'k', value: 'v\udc00' }], c.valueInvalid);
    });

    it('keys are case-sensitive', async () => {
      const a = api();
      const id = await a.resource([{ key: 'env', value: 'lower' }]);
      a.expectWritten(
        await a.create(id, [
          { key: 'Env', value: 'title' },
          { key: 'ENV', value: 'upper' },
        ]),
        [
          { key: 'Env', value: 'title' },
          { key: 'ENV', value: 'upper' },
        ],
      );
      expect(await a.list(id)).toEqual(
        sortTags([
          { key: 'env', value: 'lower' },
          { key: 'Env', value: 'title' },
          { key: 'ENV', value: 'upper' },
        ]),
      );
    });

    it('a key named twice in one create → 400', async () => {
      await api().refusesCreate(
        [
          { key: 'dup', value: 'a' },
          { key: 'other', value: 'b' },
          { key: 'dup', value: 'a' },
        ],
        c.duplicate,
      );
    });
  });

  describe('unknown fields are ignored', () => {
    it('in the body and in each tag, on create and delete', async () => {
      const a = api();
      const id = await a.resource(tagsN(2));
      const create = spec.createRequest(a.project, id, [
        { key: 'new', value: 'x', tag: null, extra: { nested: [1] } },
      ]);
      const res = await a.send(create.method, create.url, {
        ...create.body,
        extra: 1,
        tag: null,
        'x-request-examples-text-1': '{"action":"create"}',
      });
      a.expectWritten(res, [{ key: 'new', value: 'x' }]);
      const del = spec.deleteRequest(a.project, id, [{ tag: null, key: 'k0', value: 'v0', x: 1 }]);
      a.expectWritten(await a.send(del.method, del.url, { ...del.body, unknown: [] }), [
        { key: 'k0', value: 'v0' },
      ]);
      expect(await a.list(id)).toEqual([
        { key: 'k1', value: 'v1' },
        { key: 'new', value: 'x' },
      ]);
    });
  });

  describe('bodies that are not JSON objects', () => {
    it.each([
      ['not JSON', '{"tags": ['],
      ['truncated JSON', '{'],
      ['a JSON array', '[]'],
      ['a JSON string', '"tags"'],
      ['a JSON number', '42'],
      ['JSON null', 'null'],
      ['JSON true', 'true'],
    ])('a body that is %s → 400 in the service envelope', async (_label, body) => {
      const a = api();
      const id = await a.resource(tagsN(1));
      await a.expectRefused(id, () => a.createRaw(id, body), c.malformed);
    });

    it('an empty body → 400 with the code of an empty body', async () => {
      const a = api();
      const id = await a.resource(tagsN(1));
      await a.expectRefused(id, () => a.createRaw(id, ''), c.bodyEmpty);
    });

    it('a body that is not valid UTF-8 → 400, nothing stored in its place', async () => {
      const a = api();
      const id = await a.resource(tagsN(1));
      const json = JSON.stringify(
        spec.createRequest(a.project, id, [{ key: 'k\u00ff', value: 'v' }]).body,
      );
      const latin1 = Buffer.from(json, 'latin1'); // 'ÿ' as the lone byte 0xFF
      await a.expectRefused(id, () => a.createRaw(id, latin1), c.malformed);
    });

    it('a Content-Type that is not a media type → the service answers its media-type error', async () => {
      const a = api();
      const id = await a.resource(tagsN(1));
      await a.expectRefused(
        id,
        () => a.create(id, tagsN(1, 'n'), { 'content-type': 'json' }),
        c.mediaType.code,
        c.mediaType.status,
      );
    });
  });

  describe('error bodies and headers', () => {
    it('every error carries exactly the envelope fields and an X-Request-Id', async () => {
      const a = api();
      const id = await a.resource();
      const errors = [
        await a.createRaw(id, '{'),
        await a.create(id, [{ key: '', value: '' }]),
        await a.create(id, tagsN(spec.maxTags + 1)),
        await a.create('missing-resource', tagsN(1)),
      ];
      const codes = [c.malformed, c.keyEmpty, c.tooMany, c.notFound.code];
      errors.forEach((res, i) => {
        a.expectError(res, codes[i]!, i === 3 ? c.notFound.status : 400);
        expect(res.headers['x-request-id']).toMatch(/^[\x20-\x7e]{1,128}$/);
      });
    });

    it('a path that is not valid percent-encoding → 400 APIG.0201 in the gateway envelope', async () => {
      const a = api();
      expectError(await a.listRaw('bad%ZZ'), 'gateway', 'APIG.0201', 400);
      const res = await a.create('bad%E0%A4%A', tagsN(1), { 'x-request-id': 'client-id' });
      expectError(res, 'gateway', 'APIG.0201', 400);
      expect(res.headers['x-request-id']).toBe('client-id');
    });

    it('a path segment over 1,024 bytes as sent → 400 APIG.0201 in the gateway envelope', async () => {
      const a = api();
      expectError(await a.listRaw('r'.repeat(5000)), 'gateway', 'APIG.0201', 400);
      expectError(await a.listRaw('r'.repeat(1025)), 'gateway', 'APIG.0201', 400);
      const res = await a.create('r'.repeat(1025), tagsN(1));
      expectError(res, 'gateway', 'APIG.0201', 400);
      // 1,024 bytes is within the limit: the service answers (not found).
      a.expectError(await a.listRaw('r'.repeat(1024)), c.notFound.code, c.notFound.status);
    });
  });
});
