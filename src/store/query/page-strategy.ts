import { sql } from 'kysely';
import type { Executor } from '../executor.js';
import type { StoreCapabilities } from '../store-capabilities.js';
import { union } from './conditions.js';
import { driverArms } from './driver-arms.js';
import { givenMatches, type Planned } from './planner.js';
import type { TagPredicate } from './resource-filter.js';

export interface Page {
  readonly offset: number;
  readonly limit: number;
}

/** The streamed alternative to reading the driver whole: the cheapest rid-ordered walk. */
function streamChoice(p: Planned): { planned: Planned; size: number } | undefined {
  const f = p.filter;
  const options: { planned: Planned; size: number; arms: number }[] = [
    {
      planned: { ...p, driver: { kind: 'resources' }, driverSize: p.resourceCount },
      size: p.resourceCount,
      arms: f.types.length,
    },
  ];
  for (const pred of f.all) {
    const e = p.estimates.get(pred)!;
    if (e.streamable) {
      options.push({
        planned: { ...p, driver: { kind: 'predicate', pred }, driverSize: e.size },
        size: e.size,
        arms: f.types.length * pred.exact.length,
      });
    }
  }
  if (f.any.length > 0 && f.any.every((pred) => p.estimates.get(pred)!.streamable)) {
    options.push({
      planned: { ...p, driver: { kind: 'any' } },
      size: f.any.reduce((s, pred) => s + p.estimates.get(pred)!.size, 0),
      arms: f.any.reduce((s, pred) => s + pred.exact.length, 0) * f.types.length,
    });
  }
  const usable = options.filter((o) => o.arms <= p.tuning.maxStreamArms);
  usable.sort((a, b) => a.size - b.size);
  return usable[0];
}

/**
 * The streamed walk to use for a page, if one touches fewer rows than `margin` times the
 * counting driver, which the alternative reads whole: streaming touches about
 * need × size / total rows of its driver before the page is full.
 */
function cheaperStream(p: Planned, total: number, need: number, margin = 1) {
  const stream = streamChoice(p);
  if (!stream) return undefined;
  const cost = Math.min(stream.size, (need * stream.size) / Math.max(1, total));
  return cost <= p.driverSize * margin ? stream : undefined;
}

/** Expected number of matches, the conditions taken as independent. */
function expectedMatches(p: Planned): number {
  const f = p.filter;
  const n = Math.max(1, p.resourceCount);
  const share = (pred: TagPredicate) => Math.min(1, p.estimates.get(pred)!.size / n);
  const driverPred = p.driver.kind === 'predicate' ? p.driver.pred : undefined;
  let m = p.driverSize;
  for (const pred of f.all) if (pred !== driverPred) m *= share(pred);
  if (f.any.length > 0 && p.driver.kind !== 'any') {
    m *= Math.min(
      1,
      f.any.reduce((sum, pred) => sum + share(pred), 0),
    );
  }
  for (const pred of f.notAny) m *= 1 - share(pred);
  if (f.notAll.length > 0) m *= 1 - f.notAll.reduce((prod, pred) => prod * share(pred), 1);
  return m;
}

/** One page of the matches, streamed or read whole and sorted (see cheaperStream). */
export async function pageRids(
  ex: Executor,
  caps: StoreCapabilities,
  p: Planned,
  total: number,
  page: Page,
): Promise<number[]> {
  const stream = cheaperStream(p, total, page.offset + page.limit);
  let rows: { rid: number | string }[];
  if (stream) {
    const arms = driverArms(caps, stream.planned, true);
    const body =
      arms.length === 1
        ? sql`${arms[0]!} order by d.rid desc`
        : sql`${union(arms)} order by rid desc`;
    ({ rows } = await sql<{
      rid: number | string;
    }>`${body} limit ${page.limit} offset ${page.offset}`.execute(ex));
  } else {
    // `+ 0`: the sort must not tempt the planner into walking a whole index in rid order.
    const arms = driverArms(caps, p, false);
    ({ rows } = await sql<{
      rid: number | string;
    }>`select s.rid from (${union(arms)}) s order by s.rid + 0 desc limit ${page.limit} offset ${page.offset}`.execute(
      ex,
    ));
  }
  return rows.map((r) => Number(r.rid));
}

/** Every match of a small driver, newest first. */
export async function sortedRids(
  ex: Executor,
  caps: StoreCapabilities,
  p: Planned,
): Promise<number[]> {
  const given = givenMatches(p);
  if (given) return [...given].sort((a, b) => b - a);
  const arms = driverArms(caps, p, false);
  const { rows } = await sql<{
    rid: number | string;
  }>`select s.rid from (${union(arms)}) s order by s.rid + 0 desc`.execute(ex);
  return rows.map((r) => Number(r.rid));
}

/**
 * Whether the driver is read whole once, its matches giving both the count and the page: always
 * when it is small; up to the sparse limit unless a streamed page would touch at most half as
 * many rows (where few of its rows match, the page would otherwise read it whole again after the
 * count).
 */
export function readsOnce(p: Planned, page: Page): boolean {
  return (
    p.driverSize <= p.tuning.materializeMax ||
    (p.driverSize <= p.tuning.materializeSparseMax &&
      !cheaperStream(p, expectedMatches(p), page.offset + page.limit, 0.5))
  );
}
