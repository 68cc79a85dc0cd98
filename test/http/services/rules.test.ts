import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, type Tenant } from '../../support/harness.js';
import {
  type CodeName,
  type CreateCase,
  type DeleteCase,
  type Merge,
  SERVICE_SPECS,
  sortTags,
  type Tag,
  tagsN,
} from '../../support/service-spec.js';
import { TagApi } from '../../support/tag-api.js';
import { CONTROL_CHARS, type Sample } from '../../support/text-samples.js';

/**
 * The key, value and limit rules of SPEC §3, run for each service from its rules in
 * test/support/service-spec.ts (written from SPEC, not read from the profiles): lengths in code
 * points, character sets, missing and null fields, duplicate keys, the tag limit after the merge,
 * delete selectors, unknown resources and the success answers. What only one service does is
 * tested in its own file; the rules common to all of them are in atomicity-and-limits.test.ts.
 */

let h: Harness;
let t: Tenant;

beforeAll(async () => {
  h = await createHarness();
  t = await h.tenant();
});
afterAll(() => h.close());

/** How a key or a value sample is sent. */
const asKey = (key: string) => ({ key, value: 'v' });
const asValue = (value: string) => ({ key: 'k', value });
/** A character tried inside a text, so that no rule on either end applies to it. */
const inside = ([label, ch]: Sample): Sample => [label, `a${ch}b`];
const control = CONTROL_CHARS.map(([label, ch]): Sample => [`control character ${label}`, ch]);

describe.each(Object.values(SERVICE_SPECS).map((s) => [s.id, s] as const))('%s', (_id, spec) => {
  const { rules, codes: c } = spec;
  let api: TagApi;
  beforeAll(() => {
    api = new TagApi(h, t, spec);
  });

  /** Each sample, as `tag(text)` alone in a create: accepted, or refused with `code`. */
  const creates = (samples: readonly Sample[], tag: (text: string) => Tag, code?: CodeName) => {
    if (samples.length === 0) return;
    if (code === undefined) {
      it.each(samples)('%s → accepted', async (_label, text) => {
        await api.acceptsCreate([tag(text)]);
      });
    } else {
      it.each(samples)(`%s → 400 ${c[code]}`, async (_label, text) => {
        await api.refusesCreate([tag(text)], c[code]);
      });
    }
  };

  describe('create', () => {
    if (spec.writeBody === 'empty') {
      it(`answers ${spec.writeStatus} with an empty body`, async () => {
        const id = await api.resource();
        const tags = [rules.example];
        const res = await api.create(id, tags);
        expect(res.statusCode).toBe(spec.writeStatus);
        expect(res.body).toBe('');
        expect(await api.list(id)).toEqual(tags);
      });
    }

    describe(`key length: 1–${spec.keyMax} code points`, () => {
      creates(rules.key.lengths.accepted, asKey);
      creates(rules.key.lengths.refused, asKey, 'keyTooLong');
    });

    describe(`value length: 0–${spec.valueMax} code points`, () => {
      creates(rules.value.lengths.accepted, asValue);
      creates(rules.value.lengths.refused, asValue, 'valueTooLong');
    });

    describe('key characters', () => {
      creates(rules.key.accepted, asKey);
      creates(rules.key.refusedChars.map(inside), asKey, 'keyInvalid');
      creates(control.map(inside), asKey, 'keyInvalid');
      creates(rules.key.refused, asKey, 'keyInvalid');
    });

    describe('value characters', () => {
      creates(rules.value.accepted, asValue);
      creates(rules.value.refusedChars.map(inside), asValue, 'valueInvalid');
      creates(control.map(inside), asValue, 'valueInvalid');
      creates(rules.value.refused, asValue, 'valueInvalid');
    });

    const together = rules.acceptedTogether;
    if (together) {
      it('keys and values of other printable characters are accepted together', async () => {
        await api.acceptsCreate([...together]);
      });
    }

    describe('a key or value missing, empty, null or not a string', () => {
      const title = (k: CreateCase) =>
        'refused' in k ? `${k.label} → 400 ${c[k.refused]}` : `${k.label} → stored as ""`;
      it.each(rules.incomplete.map((k) => [title(k), k] as const))('%s', async (_title, k) => {
        if ('refused' in k) {
          await api.refusesCreate(k.tags, c[k.refused]);
        } else {
          const id = await api.resource();
          api.expectWritten(await api.create(id, k.tags));
          expect(await api.list(id)).toEqual(sortTags(k.stored));
        }
      });
    });

    it(`a key twice in the request → 400 ${c.duplicate}`, async () => {
      await api.refusesCreate(rules.duplicate, c.duplicate);
    });

    describe(`at most ${spec.maxTags} tags after the merge`, () => {
      const title = (m: Merge) =>
        `${m.holding} tags: ${m.label} → ${m.refused ? `400 ${c.tooMany}, nothing written` : spec.writeStatus}`;
      it.each(rules.merges.map((m) => [title(m), m] as const))('%s', async (_title, m) => {
        const held = tagsN(m.holding);
        const id = await api.resource(held);
        if (m.refused) {
          await api.expectRefused(id, () => api.create(id, m.tags), c.tooMany);
          return;
        }
        api.expectWritten(await api.create(id, m.tags), [...m.tags]);
        const added = m.tags.filter((tag) => !held.some((old) => old.key === tag.key));
        const after = await api.list(id);
        expect(after).toHaveLength(m.holding + added.length);
        for (const tag of m.tags) expect(after).toContainEqual(tag);
      });
    });
  });

  describe('delete', () => {
    if (spec.writeBody === 'empty') {
      it(`by key → ${spec.writeStatus} with an empty body`, async () => {
        const id = await api.resource(tagsN(3));
        const res = await api.remove(id, [{ key: 'k1' }]);
        expect(res.statusCode).toBe(spec.writeStatus);
        expect(res.body).toBe('');
        expect(await api.list(id)).toEqual([
          { key: 'k0', value: 'v0' },
          { key: 'k2', value: 'v2' },
        ]);
      });
    }

    const title = (d: DeleteCase) =>
      d.refused ? `${d.label} → 400 ${c[d.refused]}, nothing deleted` : `${d.label} → accepted`;
    it.each(rules.deletes.map((d) => [title(d), d] as const))('%s', async (_title, d) => {
      if (d.refused) {
        const id = await api.resource(tagsN(2));
        await api.expectRefused(id, () => api.remove(id, [{ key: 'k1' }, d.tag]), c[d.refused]);
      } else {
        const id = await api.resource(tagsN(1));
        api.expectWritten(await api.remove(id, [d.tag]));
      }
    });
  });

  it(`an unknown resource → ${c.notFound.status} ${c.notFound.code} on every route`, async () => {
    const other = Object.values(SERVICE_SPECS).find((s) => s.id !== spec.id)!;
    for (const id of ['no-such-resource', await t.resource(other.type)]) {
      const answers = [await api.create(id, tagsN(1)), await api.remove(id, [{ key: 'k0' }])];
      for (const req of spec.singleTagRequests(api.project, id)) answers.push(await api.write(req));
      answers.push(await api.listRaw(id));
      for (const res of answers) {
        const message = api.expectError(res, c.notFound.code, c.notFound.status);
        // A published message (ModelArts) exactly; a message of ours says how to register it.
        if (c.notFound.message) expect(message).toBe(c.notFound.message(id));
        else {
          expect(message).toContain(
            `Register it first, with the admin API (PUT /admin/v1/projects/${api.project}/resources/${spec.type}/${id}) or in a seed document.`,
          );
        }
      }
    }
  });

  const fields = ['tags', ...Object.keys(spec.listExtras)];
  it(`list answers 200 with exactly ${fields.join(', ')}`, async () => {
    const id = await api.resource(tagsN(2));
    const res = await api.listRaw(id);
    expect(res.statusCode).toBe(200);
    const body = JSON.parse(res.body);
    expect(Object.keys(body).sort()).toEqual([...fields].sort());
    for (const [field, value] of Object.entries(spec.listExtras)) {
      expect(body[field]).toEqual(value);
    }
    expect(sortTags(body.tags)).toEqual(tagsN(2));
  });
});
