import { sql } from 'kysely';
import type { Executor } from '../executor.js';
import { union } from './conditions.js';
import type { PlannerTuning } from './planner-tuning.js';
import type { ResourceFilter, TagPredicate } from './resource-filter.js';

export interface Estimate {
  /** Estimated number of resources the predicate holds for. */
  readonly size: number;
  /** Only exact values: its posting lists come in rid order, one per type and value. */
  readonly streamable: boolean;
}

/** What the estimates are for: the sizes of a filter's posting lists and of its resources. */
export interface Sizes {
  readonly estimates: Map<TagPredicate, Estimate>;
  readonly resourceCount: number;
}

/**
 * Sizes of posting lists, and the rid bounds of each type's resources (the density of a long
 * posting list is measured against them): one statement for all of them, a round trip being a
 * large part of a selective query's time on a database over the network.
 */
export async function estimate(
  ex: Executor,
  f: ResourceFilter,
  preds: readonly TagPredicate[],
  tuning: PlannerTuning,
): Promise<Sizes> {
  interface Probe {
    readonly pred: TagPredicate;
    readonly type: string;
    /** An exact value's posting list, or the whole key's when undefined. */
    readonly value?: string;
  }
  const probes: Probe[] = [];
  for (const pred of preds) {
    for (const type of f.types) {
      if (pred.contains.length === 0 && pred.exact.length > 0) {
        for (const value of pred.exact) probes.push({ pred, type, value });
      } else {
        probes.push({ pred, type });
      }
    }
  }
  // Rows i < 0 are the bounds of type -1 - i (n: the highest rid, lo: the lowest); rows i ≥ 0
  // the newest entries of probe i (n: how many, up to the cap; lo: the oldest of them).
  const rows = await sql<{
    i: number | string;
    n: number | string | null;
    lo: number | string | null;
  }>`${union([
    ...f.types.map(
      (t, j) =>
        sql`select ${sql.lit(-1 - j)} as i, (select max(rid) from resources where project_id = ${f.projectId} and resource_type = ${t}) as n, (select min(rid) from resources where project_id = ${f.projectId} and resource_type = ${t}) as lo`,
    ),
    ...probes.map((pr, i) =>
      pr.value !== undefined
        ? sql`select ${sql.lit(i)} as i, count(*) as n, min(s.rid) as lo from (select rid from tags where project_id = ${f.projectId} and resource_type = ${pr.type} and key = ${pr.pred.key} and value = ${pr.value} order by rid desc limit ${sql.lit(tuning.estimateCap)}) s`
        : sql`select ${sql.lit(i)} as i, count(*) as n, min(s.rid) as lo from (select rid from tags where project_id = ${f.projectId} and resource_type = ${pr.type} and key = ${pr.pred.key} limit ${sql.lit(tuning.estimateCap)}) s`,
    ),
  ])}`.execute(ex);

  const bounds = new Map<string, { lo: number; hi: number }>();
  let resourceCount = 0;
  for (const r of rows.rows) {
    const i = Number(r.i);
    if (i >= 0 || r.lo === null || r.n === null) continue;
    const b = { lo: Number(r.lo), hi: Number(r.n) };
    bounds.set(f.types[-1 - i]!, b);
    resourceCount += b.hi - b.lo + 1;
  }

  const sizes = new Map<TagPredicate, number>();
  for (const pred of preds) sizes.set(pred, 0);
  for (const r of rows.rows) {
    const i = Number(r.i);
    if (i < 0) continue;
    const pr = probes[i]!;
    const b = bounds.get(pr.type);
    if (!b) continue;
    const n = Number(r.n);
    let size = n;
    if (n >= tuning.estimateCap) {
      // A long list: its newest CAP entries span (hi - lo) rids; scale to the type's span.
      size =
        pr.value !== undefined && r.lo !== null
          ? Math.round((n * (b.hi - b.lo + 1)) / Math.max(1, b.hi - Number(r.lo) + 1))
          : b.hi - b.lo + 1;
    }
    sizes.set(pr.pred, sizes.get(pr.pred)! + size);
  }
  const estimates = new Map<TagPredicate, Estimate>();
  for (const pred of preds) {
    estimates.set(pred, {
      size: sizes.get(pred)!,
      streamable: pred.contains.length === 0 && pred.exact.length > 0,
    });
  }
  return { estimates, resourceCount };
}
