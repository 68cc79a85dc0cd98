import type { Executor } from './executor.js';
import { countFilter } from './query/count-strategy.js';
import { type Page, pageRids, readsOnce, sortedRids } from './query/page-strategy.js';
import { plan } from './query/planner.js';
import { DEFAULT_TUNING, type PlannerTuning } from './query/planner-tuning.js';
import { normalise, type ResourceFilter } from './query/resource-filter.js';
import { type FoundResource, loadResources } from './query/resource-loader.js';
import type { StoreCapabilities } from './store-capabilities.js';

/**
 * Finding resources by tag, compiled to SQL that walks indexes.
 *
 * Every tag condition has a posting list in the `tags_kv` index, (project, type, key, value) →
 * rids in registration order. A query is answered by one driver — the posting list of its most
 * selective positive condition, the candidates of a name search, or the project's resources of
 * the requested types — whose rows are checked against every other condition by one index probe
 * each. SQLite plans without statistics and would otherwise start from whichever index it meets
 * first, so the driver, and the order the probes run in, are chosen here from cheap estimates:
 * the newest 1,000 rids of a posting list give its exact size when it is shorter and its density
 * (hence its size) when it is longer.
 *
 * A page is streamed (the driver's posting lists already come in rid order, per type and value,
 * and are merged; the walk stops once the page is full) or read whole and sorted, whichever the
 * estimates say touches fewer rows; a small or sparse driver is read once for both the count and
 * the page. The count costs one probe per driver row, except that exclusions are subtracted
 * (count(D) − count(D and N)) where that turns probes into index range counts.
 *
 * A caller's identity policies (`access`) are one more check on every driver row, so the count
 * and the page are of the resources it may read, exactly.
 */

/** Nothing can match: no types, or policies that allow no resource. */
function empty(f: ResourceFilter): boolean {
  return f.types.length === 0 || f.access?.kind === 'never';
}

export type { Page } from './query/page-strategy.js';
export type { PlannerTuning } from './query/planner-tuning.js';
export { DEFAULT_TUNING } from './query/planner-tuning.js';
export type { ResourceFilter, TagPredicate } from './query/resource-filter.js';
export type { FoundResource } from './query/resource-loader.js';
export { loadResources } from './query/resource-loader.js';

/** How many resources match. */
export async function countResources(
  ex: Executor,
  caps: StoreCapabilities,
  filter: ResourceFilter,
  tuning: PlannerTuning = DEFAULT_TUNING,
): Promise<number> {
  if (empty(filter)) return 0;
  return countFilter(ex, caps, normalise(filter), tuning);
}

/** One page of the matching resources, newest registration first, and how many match in all. */
export async function findResources(
  ex: Executor,
  caps: StoreCapabilities,
  filter: ResourceFilter,
  page: Page,
  tuning: PlannerTuning = DEFAULT_TUNING,
): Promise<{ total: number; resources: FoundResource[] }> {
  const f = normalise(filter);
  if (empty(f)) return { total: 0, resources: [] };
  const p = await plan(ex, caps, f, tuning);
  if (p.resourceCount === 0) return { total: 0, resources: [] };
  let total: number;
  let rids: number[];
  if (readsOnce(p, page)) {
    const all = await sortedRids(ex, caps, p);
    total = all.length;
    rids = all.slice(page.offset, page.offset + page.limit);
  } else {
    total = await countFilter(ex, caps, f, tuning, p);
    if (total === 0 || page.offset >= total) return { total, resources: [] };
    rids = await pageRids(ex, caps, p, total, page);
  }
  return { total, resources: await loadResources(ex, caps, f.projectId, rids) };
}
