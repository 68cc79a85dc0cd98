import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/database.js';
import {
  countResources,
  DEFAULT_TUNING,
  findResources,
  type PlannerTuning,
  type ResourceFilter,
  type TagPredicate,
} from '../../src/store/query-store.js';
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

function makeRows(rand: () => number): Row[] {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
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
              enterprise_project_id: '0',
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
