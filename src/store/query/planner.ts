import type { Executor } from '../executor.js';
import type { StoreCapabilities } from '../store-capabilities.js';
import { type Estimate, estimate, type Sizes } from './estimates.js';
import { nameCandidates, nameIndexable } from './name-candidates.js';
import type { PlannerTuning } from './planner-tuning.js';
import type { ResourceFilter, TagPredicate } from './resource-filter.js';

/** What a query walks: every match is among its rows, each checked against the rest. */
export type Driver =
  | { readonly kind: 'predicate'; readonly pred: TagPredicate }
  | { readonly kind: 'any' }
  /**
   * Resources whose names may contain the needle, from the name index (see nameCandidates);
   * `exact`: exactly the filter's resources whose names do.
   */
  | { readonly kind: 'name'; readonly candidates: readonly number[]; readonly exact: boolean }
  | { readonly kind: 'resources' };

/** A filter with its driver, and the estimates the driver was chosen from. */
export interface Planned {
  readonly tuning: PlannerTuning;
  readonly filter: ResourceFilter;
  readonly estimates: Map<TagPredicate, Estimate>;
  readonly resourceCount: number;
  readonly driver: Driver;
  readonly driverSize: number;
}

/** The smallest posting list drives; the resources themselves when no tag condition is smaller. */
export function choose(f: ResourceFilter, sizes: Sizes, tuning: PlannerTuning): Planned {
  const { estimates, resourceCount } = sizes;
  let driver: Driver = { kind: 'resources' };
  let driverSize = resourceCount;
  for (const pred of f.all) {
    const size = estimates.get(pred)!.size;
    if (size <= driverSize) {
      driver = { kind: 'predicate', pred };
      driverSize = size;
    }
  }
  if (f.any.length > 0) {
    const size = f.any.reduce((s, pred) => s + estimates.get(pred)!.size, 0);
    if (size < driverSize) {
      driver = { kind: 'any' };
      driverSize = size;
    }
  }
  return { tuning, filter: f, estimates, resourceCount, driver, driverSize };
}

/** The plan driven by name candidates instead. */
function nameDriven(p: Planned, found: { rids: number[]; exact: boolean }): Planned {
  return {
    ...p,
    driver: { kind: 'name', candidates: found.rids, exact: found.exact },
    driverSize: found.rids.length,
  };
}

/** The driver for a filter: from the estimates, or the name's candidates where they are fewer. */
export async function plan(
  ex: Executor,
  caps: StoreCapabilities,
  f: ResourceFilter,
  tuning: PlannerTuning,
): Promise<Planned> {
  const preds = [...new Set([...f.all, ...f.any, ...f.notAll, ...f.notAny])];
  // A name and no tag condition: its candidates come first, and a few of them (read once, see
  // materializeMax) drive without any estimate; resourceCount is then never read.
  const nameOnly = preds.length === 0 && nameIndexable(f);
  let found = nameOnly ? await nameCandidates(ex, caps, f, tuning.nameCandidateCap) : undefined;
  if (found && found.rids.length <= tuning.materializeMax) {
    const unestimated: Planned = {
      tuning,
      filter: f,
      estimates: new Map(),
      resourceCount: Number.NaN,
      driver: { kind: 'resources' },
      driverSize: Number.NaN,
    };
    return nameDriven(unestimated, found);
  }
  const p = choose(f, await estimate(ex, f, preds, tuning), tuning);
  if (!nameOnly && nameIndexable(f) && p.driverSize > 0) {
    found = await nameCandidates(ex, caps, f, tuning.nameCandidateCap);
  }
  return found && found.rids.length < p.driverSize ? nameDriven(p, found) : p;
}

/** The matches themselves, when the name candidates are exact and nothing else is asked. */
export function givenMatches(p: Planned): readonly number[] | undefined {
  const f = p.filter;
  const onlyName =
    !f.untagged &&
    !f.access &&
    f.all.length === 0 &&
    f.any.length === 0 &&
    f.notAll.length === 0 &&
    f.notAny.length === 0;
  return p.driver.kind === 'name' && p.driver.exact && onlyName ? p.driver.candidates : undefined;
}
