import { sql } from 'kysely';
import type { Executor } from '../executor.js';
import type { StoreCapabilities } from '../store-capabilities.js';
import { union } from './conditions.js';
import { driverArms } from './driver-arms.js';
import { choose, givenMatches, type Planned, plan } from './planner.js';
import type { PlannerTuning } from './planner-tuning.js';
import type { ResourceFilter, TagPredicate } from './resource-filter.js';

/** Counts the matches of a plan as it stands: the exact name candidates, or the driver's arms. */
async function countPlanned(ex: Executor, caps: StoreCapabilities, p: Planned): Promise<number> {
  const given = givenMatches(p);
  if (given) return given.length;
  const arms = driverArms(caps, p, false);
  const { rows } = await sql<{
    n: number | string;
  }>`select count(*) as n from (${union(arms)}) s`.execute(ex);
  return Number(rows[0]?.n ?? 0);
}

/** Counting this needs no probe: a range of one index is counted. */
function isIndexRange(f: ResourceFilter): boolean {
  return (
    !f.untagged &&
    !f.name &&
    !f.access &&
    f.any.length === 0 &&
    f.notAll.length === 0 &&
    f.notAny.length === 0 &&
    f.all.length <= 1
  );
}

/**
 * Counts, taking exclusions away rather than probing for them where that is cheaper: with a
 * driver of D rows and nothing else to check but an exclusion N, count(D and not N) is
 * count(D), a plain index range, less count(D and N). Where the database runs the anti-join as
 * written (one probe per row of D), that pays when N's posting list is the shorter, which then
 * drives; where it cannot run an anti-join in index order (`orderedAntiJoins`), also when N is
 * the only exclusion, since the semi-join it becomes merges the two posting lists in rid order.
 *
 * A plain index range is counted without planning: it has nothing to choose.
 */
export async function countFilter(
  ex: Executor,
  caps: StoreCapabilities,
  f: ResourceFilter,
  tuning: PlannerTuning,
  planned?: Planned,
): Promise<number> {
  if (!planned && isIndexRange(f)) {
    const pred = f.all[0];
    return countPlanned(ex, caps, {
      tuning,
      filter: f,
      estimates: new Map(),
      resourceCount: Number.NaN,
      driver: pred ? { kind: 'predicate', pred } : { kind: 'resources' },
      driverSize: Number.NaN,
    });
  }
  const p = planned ?? (await plan(ex, caps, f, tuning));
  if (p.resourceCount === 0) return 0;
  if (isIndexRange({ ...f, notAll: [], notAny: [] })) {
    const size = (pred: TagPredicate) => p.estimates.get(pred)!.size;
    // Where anti-joins do not run in index order, the last exclusion is always subtracted; not
    // every one, which would take 2^k counts for k exclusions.
    const exclusions = f.notAny.length + (f.notAll.length > 0 ? 1 : 0);
    const worth = (n: number) => n < p.driverSize || (!caps.orderedAntiJoins && exclusions === 1);
    // Sub-filters are planned from the estimates already made: their conditions are these.
    const count = (sub: ResourceFilter) =>
      countFilter(ex, caps, sub, tuning, choose(sub, p, tuning));
    const notAny = [...f.notAny].sort((a, b) => size(a) - size(b));
    const first = notAny[0];
    if (first !== undefined && worth(size(first))) {
      const rest = { ...f, notAny: notAny.slice(1) };
      return (await count(rest)) - (await count({ ...rest, all: [...f.all, first] }));
    }
    if (f.notAll.length > 0 && worth(Math.min(...f.notAll.map(size)))) {
      const rest = { ...f, notAll: [] };
      return (await count(rest)) - (await count({ ...rest, all: [...f.all, ...f.notAll] }));
    }
  }
  return countPlanned(ex, caps, p);
}
