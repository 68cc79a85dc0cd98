import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grantedWhere } from '../../src/auth/policy-conditions.js';
import { type CompiledPolicies, compilePolicy, evaluate } from '../../src/auth/policy-evaluator.js';
import type { Store } from '../../src/store/database.js';
import {
  countResources,
  DEFAULT_TUNING,
  findResources,
  type PlannerTuning,
  type ResourceFilter,
  type TagPredicate,
} from '../../src/store/query-store.js';
import { distinctKeys, distinctValuesOfKey } from '../../src/store/tag-listing-store.js';
import { openTestStore, type TestStore } from '../support/test-store.js';

/**
 * The query planner against a brute-force evaluation of the same filters: whichever driver,
 * probe order, page plan or counting shortcut the planner picks, the answer must be the same.
 * The planner runs with its own thresholds and with thresholds shrunk to this dataset's size, so
 * that long posting lists are estimated from their density and every plan gets taken. It runs on
 * each store the suite runs on: the two take different plans where their capabilities differ.
 */
const SMALL_TUNING: PlannerTuning = {
  estimateCap: 40,
  maxStreamArms: 6,
  materializeMax: 25,
  materializeSparseMax: 200,
  nameCandidateCap: 60,
};

const PROJECT = 'p-query-store';
const TYPES = ['mrs_cluster', 'as_group'] as const;
const N = 3000;

interface Row {
  rid: number;
  type: string;
  id: string;
  name: string;
  tags: Map<string, string>;
  enterpriseProject: string;
}

function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Keys with very different posting-list sizes: tier (2 values, ~1,400 each), env (3), team (20),
// app (200), rare (a few resources), flag (about half, with several values).
const KEYS: Record<string, string[]> = {
  tier: ['gold', 'silver'],
  env: ['prod', 'dev', 'test'],
  team: Array.from({ length: 20 }, (_, i) => `t${i}`),
  app: Array.from({ length: 200 }, (_, i) => `a${i}`),
  rare: ['x', 'y'],
  flag: ['on', 'off', 'o%n', 'o_n'],
};
const NAMES = ['web', 'db', 'Web', 'cache-1', '50%_off', 'x_y', ''];

const ENTERPRISE_PROJECTS = ['0', 'ep-a', 'ep-b'];

function makeRows(rand: () => number): Row[] {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  // Enterprise projects from a generator of their own: the rest of the data stays as it was.
  const ep = prng(99);
  const rows: Row[] = [];
  for (let i = 0; i < N; i++) {
    const tags = new Map<string, string>();
    if (rand() > 0.05) {
      if (rand() < 0.95) tags.set('tier', pick(KEYS.tier!));
      if (rand() < 0.9) tags.set('env', pick(KEYS.env!));
      if (rand() < 0.8) tags.set('team', pick(KEYS.team!));
      if (rand() < 0.7) tags.set('app', pick(KEYS.app!));
      if (rand() < 0.01) tags.set('rare', pick(KEYS.rare!));
      if (rand() < 0.5) tags.set('flag', pick(KEYS.flag!));
    }
    rows.push({
      rid: i + 1,
      type: pick(TYPES),
      id: `r${String(i).padStart(5, '0')}`,
      name: `${pick(NAMES)}-${i % 7}`,
      tags,
      enterpriseProject: ENTERPRISE_PROJECTS[Math.floor(ep() * ENTERPRISE_PROJECTS.length)]!,
    });
  }
  return rows;
}

function randomPredicate(rand: () => number, usedKeys: Set<string>): TagPredicate | undefined {
  const keys = Object.keys(KEYS).filter((k) => !usedKeys.has(k));
  if (keys.length === 0) return undefined;
  const key = keys[Math.floor(rand() * keys.length)]!;
  usedKeys.add(key);
  const values = KEYS[key]!;
  const exact: string[] = [];
  const contains: string[] = [];
  const n = Math.floor(rand() * 4);
  for (let i = 0; i < n; i++) {
    const r = rand();
    const v = r < 0.1 ? 'missing' : values[Math.floor(rand() * values.length)]!;
    if (r > 0.8) {
      const needle = v.slice(Math.floor(rand() * v.length));
      if (needle && !contains.includes(needle)) contains.push(needle);
    } else if (!exact.includes(v)) {
      exact.push(v);
    }
  }
  return { key, exact, contains };
}

function randomFilter(rand: () => number): ResourceFilter {
  const list = (max: number) => {
    const used = new Set<string>();
    const out: TagPredicate[] = [];
    const n = Math.floor(rand() * (max + 1));
    for (let i = 0; i < n; i++) {
      const p = randomPredicate(rand, used);
      if (p) out.push(p);
    }
    return out;
  };
  const types = rand() < 0.5 ? [...TYPES] : [TYPES[Math.floor(rand() * 2)]!];
  const r = rand();
  const name =
    r < 0.1
      ? { match: 'contains' as const, value: NAMES[Math.floor(rand() * NAMES.length)]! || '%' }
      : r < 0.13
        ? { match: 'equals' as const, value: 'web-3' }
        : undefined;
  return {
    projectId: PROJECT,
    types,
    all: list(3),
    any: list(3),
    notAll: list(2),
    notAny: list(2),
    untagged: rand() < 0.05,
    ...(name ? { name } : {}),
  };
}

function holds(row: Row, p: TagPredicate): boolean {
  const v = row.tags.get(p.key);
  if (v === undefined) return false;
  if (p.exact.length === 0 && p.contains.length === 0) return true;
  return p.exact.includes(v) || p.contains.some((c) => v.includes(c));
}

function bruteForce(rows: Row[], f: ResourceFilter): string[] {
  return rows
    .filter((row) => {
      if (!f.types.includes(row.type)) return false;
      if (f.name) {
        const ok =
          f.name.match === 'equals' ? row.name === f.name.value : row.name.includes(f.name.value);
        if (!ok) return false;
      }
      if (f.untagged) return row.tags.size === 0;
      if (!f.all.every((p) => holds(row, p))) return false;
      if (f.any.length > 0 && !f.any.some((p) => holds(row, p))) return false;
      if (f.notAll.length > 0 && f.notAll.every((p) => holds(row, p))) return false;
      if (f.notAny.some((p) => holds(row, p))) return false;
      return true;
    })
    .sort((a, b) => b.rid - a.rid)
    .map((r) => r.id);
}

/** Actions a random read needs, as a route's and its service's list action. */
const READ_ACTIONS = [['svc:res:read'], ['svc:res:read', 'svc:res:list']];
const PATTERNS = ['g*', '?ilver', 'o%n', 'o_n', '*o*', 't1?', 'prod', 'a1*', '*', 'x'];

/** A random policy document over the dataset's tags and enterprise projects. */
function randomPolicy(rand: () => number): unknown {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const values = (key: string) => {
    const pool =
      key === 'g:EnterpriseProjectId'
        ? [...ENTERPRISE_PROJECTS, 'ep-*', 'ep-?']
        : [...(KEYS[key.slice('g:ResourceTag/'.length)] ?? ['v']), ...PATTERNS];
    return Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pick(pool));
  };
  const statements = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => {
    const condition: Record<string, Record<string, unknown>> = {};
    for (let i = Math.floor(rand() * 3); i > 0; i--) {
      const op = pick(['StringEquals', 'StringNotEquals', 'StringLike', 'StringNotLike', 'Null']);
      const qualified =
        op !== 'Null' && rand() < 0.3 ? `${pick(['ForAllValues', 'ForAnyValue'])}:${op}` : op;
      const key = pick([
        'g:ResourceTag/tier',
        'g:ResourceTag/env',
        'g:ResourceTag/flag',
        'g:ResourceTag/rare',
        'g:ResourceTag/none',
        'g:EnterpriseProjectId',
        'g:RequestTag/env',
        'g:TagKeys',
      ]);
      condition[qualified] = {
        ...condition[qualified],
        [key]: op === 'Null' ? pick(['true', 'false']) : values(key),
      };
    }
    return {
      Effect: rand() < 0.7 ? 'Allow' : 'Deny',
      Action: [pick(['*', 'svc:res:*', 'svc:res:read', 'svc:res:list', 'other:*'])],
      ...(Object.keys(condition).length > 0 ? { Condition: condition } : {}),
    };
  });
  return { Version: '5.0', Statement: statements };
}

/** Whether the evaluator grants every action on the row, as a single read decides it. */
function readable(row: Row, policies: CompiledPolicies, actions: readonly string[]): boolean {
  const ctx = {
    resourceTags: row.tags,
    requestTags: new Map<string, string>(),
    tagKeys: [],
    enterpriseProjectId: row.enterpriseProject,
  };
  return actions.every((a) => evaluate(policies, a, ctx).allowed);
}

describe('query store', () => {
  let opened: TestStore;
  let store: Store;
  let rows: Row[];

  beforeAll(async () => {
    opened = await openTestStore();
    store = opened.store;
    rows = makeRows(prng(7));
    const now = new Date().toISOString();
    await store.transaction(async (tx) => {
      await tx.insertInto('domains').values({ id: 'd', name: 'd', created_at: now }).execute();
      await tx
        .insertInto('projects')
        .values({ id: PROJECT, domain_id: 'd', name: 'p', created_at: now })
        .execute();
      for (let i = 0; i < rows.length; i += 200) {
        const chunk = rows.slice(i, i + 200);
        await tx
          .insertInto('resources')
          .values(
            chunk.map((r) => ({
              rid: r.rid,
              project_id: PROJECT,
              resource_type: r.type,
              resource_id: r.id,
              name: r.name,
              enterprise_project_id: r.enterpriseProject,
              created_at: now,
            })),
          )
          .execute();
        const tags = chunk.flatMap((r) =>
          [...r.tags].map(([key, value]) => ({
            project_id: PROJECT,
            rid: r.rid,
            resource_type: r.type,
            key,
            value,
          })),
        );
        if (tags.length > 0) await tx.insertInto('tags').values(tags).execute();
      }
    });
    // As a bulk load does (see plansFromStatistics): without statistics PostgreSQL takes the
    // tables for empty and nests whole index scans inside each other.
    if (store.caps.plansFromStatistics) await sql`analyze resources, tags`.execute(store.db);
  });
  afterAll(async () => {
    await opened.close();
  });

  it.each([
    ['default', DEFAULT_TUNING, 11],
    ['small', SMALL_TUNING, 12],
  ] as const)(
    'gives the brute-force answer for random filters, counts and pages (%s thresholds)',
    async (_name, tuning, seed) => {
      const rand = prng(seed);
      for (let i = 0; i < 150; i++) {
        const f = randomFilter(rand);
        const expected = bruteForce(rows, f);
        const where = JSON.stringify(f);
        expect(await countResources(store.db, store.caps, f, tuning), where).toBe(expected.length);
        const limit = 1 + Math.floor(rand() * 60);
        const offset = rand() < 0.3 ? 0 : Math.floor(rand() * (expected.length + 10));
        const page = await findResources(store.db, store.caps, f, { offset, limit }, tuning);
        expect(page.total, where).toBe(expected.length);
        expect(
          page.resources.map((r) => r.resourceId),
          `${where} offset ${offset} limit ${limit}`,
        ).toEqual(expected.slice(offset, offset + limit));
      }
    },
  );

  it.each([
    ['default', DEFAULT_TUNING, 21],
    ['small', SMALL_TUNING, 22],
  ] as const)(
    'applies policies as the evaluator decides each resource (%s thresholds)',
    async (_name, tuning, seed) => {
      const rand = prng(seed);
      for (let i = 0; i < 80; i++) {
        const doc = randomPolicy(rand);
        const policies = { statements: compilePolicy(doc) };
        const actions = READ_ACTIONS[Math.floor(rand() * READ_ACTIONS.length)]!;
        const base = randomFilter(rand);
        const f = { ...base, access: grantedWhere(policies, actions) };
        const shown = new Set(rows.filter((r) => readable(r, policies, actions)).map((r) => r.id));
        const expected = bruteForce(rows, base).filter((id) => shown.has(id));
        const where = JSON.stringify({ doc, actions, filter: base });
        expect(await countResources(store.db, store.caps, f, tuning), where).toBe(expected.length);
        const limit = 1 + Math.floor(rand() * 60);
        const offset = rand() < 0.5 ? 0 : Math.floor(rand() * (expected.length + 10));
        const page = await findResources(store.db, store.caps, f, { offset, limit }, tuning);
        expect(page.total, where).toBe(expected.length);
        expect(
          page.resources.map((r) => r.resourceId),
          where,
        ).toEqual(expected.slice(offset, offset + limit));
      }
    },
  );

  it('takes StringLike patterns as the evaluator does: * and ? wild, everything else literal', async () => {
    const f: ResourceFilter = {
      projectId: PROJECT,
      types: [...TYPES],
      all: [],
      any: [],
      notAll: [],
      notAny: [],
      untagged: false,
    };
    for (const pattern of ['o%n', 'o_n', 'o?n', '?n', '*%*', '*_*', 'O*', 'o*', '[o]*', 'x\\*']) {
      for (const op of ['StringLike', 'StringNotLike', 'ForAnyValue:StringLike']) {
        const doc = {
          Version: '5.0',
          Statement: [
            {
              Effect: 'Allow',
              Action: ['*'],
              Condition: { [op]: { 'g:ResourceTag/flag': [pattern] } },
            },
          ],
        };
        const policies = { statements: compilePolicy(doc) };
        const expected = rows.filter((r) => readable(r, policies, ['svc:res:read'])).length;
        const access = grantedWhere(policies, ['svc:res:read']);
        expect(
          await countResources(store.db, store.caps, { ...f, access }),
          JSON.stringify(doc),
        ).toBe(expected);
      }
    }
  });

  it('lists only the keys and values of resources the policies let the caller read', async () => {
    const rand = prng(31);
    for (let i = 0; i < 40; i++) {
      const doc = randomPolicy(rand);
      const policies = { statements: compilePolicy(doc) };
      const condition = grantedWhere(policies, ['svc:res:read']);
      const shown = rows.filter(
        (r) => r.type === 'as_group' && readable(r, policies, ['svc:res:read']),
      );
      const keys = [...new Set(shown.flatMap((r) => [...r.tags.keys()]))].sort();
      const values = [...new Set(shown.flatMap((r) => r.tags.get('flag') ?? []))].sort();
      const options = { readable: { caps: store.caps, condition } };
      const where = JSON.stringify(doc);
      expect(await distinctKeys(store.db, PROJECT, 'as_group', options), where).toEqual(keys);
      expect(
        await distinctValuesOfKey(store.db, PROJECT, 'as_group', 'flag', options),
        where,
      ).toEqual(values);
    }
  });

  it('pages of a broad filter, walked to the end, give each match once', async () => {
    const f: ResourceFilter = {
      projectId: PROJECT,
      types: [...TYPES],
      all: [{ key: 'tier', exact: ['gold'], contains: [] }],
      any: [],
      notAll: [],
      notAny: [{ key: 'env', exact: ['dev'], contains: [] }],
      untagged: false,
    };
    const expected = bruteForce(rows, f);
    const seen: string[] = [];
    for (let offset = 0; offset < expected.length; offset += 97) {
      const page = await findResources(
        store.db,
        store.caps,
        f,
        { offset, limit: 97 },
        SMALL_TUNING,
      );
      seen.push(...page.resources.map((r) => r.resourceId));
    }
    expect(seen).toEqual(expected);
  });

  it('returns each resource with all its tags, keys ascending', async () => {
    const f: ResourceFilter = {
      projectId: PROJECT,
      types: [...TYPES],
      all: [{ key: 'rare', exact: [], contains: [] }],
      any: [],
      notAll: [],
      notAny: [],
      untagged: false,
    };
    const page = await findResources(store.db, store.caps, f, { offset: 0, limit: 1000 });
    expect(page.resources.length).toBeGreaterThan(0);
    for (const r of page.resources) {
      const row = rows.find((x) => x.id === r.resourceId)!;
      expect(r.tags).toEqual(
        [...row.tags].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, value]) => ({ key, value })),
      );
    }
  });
});
