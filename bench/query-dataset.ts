/**
 * The benchmark dataset: `size` resources of one type in one project, each with ten tags —
 * `env` (3 values), `team` (50), `app` (1,000), `owner` (10,000) and six keys drawn from 96
 * (`k00`…`k95`, ten values each) — written with a bulk path that leaves exactly what the store
 * would hold had every resource been registered and tagged through the API: rids in registration
 * order, the same tables, the same indexes.
 */

/** Where the dataset lives: one project of one domain, a root user, MRS clusters. */
export const DATASET = {
  domainId: 'bench-domain',
  projectId: 'bench0000000000000000000000000001',
  userId: 'bench-root',
  type: 'mrs_cluster',
  seed: 20240601,
} as const;

export const BASE_KEYS = { env: 3, team: 50, app: 1000, owner: 10_000 } as const;
export const EXTRA_KEYS = 96;
export const EXTRA_KEYS_PER_RESOURCE = 6;
export const EXTRA_VALUES = 10;
export const ENV_VALUES = ['prod', 'dev', 'test'] as const;

/** A small fast deterministic generator (mulberry32): the same seed gives the same dataset. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface BenchResource {
  readonly resourceId: string;
  readonly name: string;
  /** Sorted by key. */
  readonly tags: readonly (readonly [string, string])[];
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** Resource number `i` (0-based) of the dataset drawn from `rand`; call in order. */
export function makeResource(i: number, rand: () => number): BenchResource {
  const pick = (n: number) => Math.floor(rand() * n);
  const env = ENV_VALUES[pick(3)]!;
  const team = `t${pick(BASE_KEYS.team)}`;
  const app = `a${pick(BASE_KEYS.app)}`;
  const owner = `o${pick(BASE_KEYS.owner)}`;
  const extra = new Set<number>();
  while (extra.size < EXTRA_KEYS_PER_RESOURCE) extra.add(pick(EXTRA_KEYS));
  const tags: [string, string][] = [
    ['app', app],
    ['env', env],
    ['owner', owner],
    ['team', team],
  ];
  for (const k of extra) tags.push([`k${pad(k, 2)}`, `v${pick(EXTRA_VALUES)}`]);
  tags.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return {
    resourceId: `grp-${pad(i, 7)}`,
    name: `${app}-${env}-${team}-${pad(i, 7)}`,
    tags,
  };
}
