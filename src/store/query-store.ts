import { type RawBuilder, sql } from 'kysely';
import type { Executor, StoreCapabilities } from './database.js';
import type { Tag } from './tags-store.js';

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
 */

/**
 * One tag condition: the resource has `key` with one of the `exact` values or a value containing
 * one of the `contains` strings; with both empty, any value.
 */
export interface TagPredicate {
  readonly key: string;
  readonly exact: readonly string[];
  readonly contains: readonly string[];
}

export interface ResourceFilter {
  readonly projectId: string;
  /** Resource types searched; at least one. */
  readonly types: readonly string[];
  /** Every one holds. */
  readonly all: readonly TagPredicate[];
  /** At least one holds (no condition when empty). */
  readonly any: readonly TagPredicate[];
  /** Not all of them hold (no condition when empty). */
  readonly notAll: readonly TagPredicate[];
  /** None holds. */
  readonly notAny: readonly TagPredicate[];
  /** Only resources without any tag. */
  readonly untagged: boolean;
  readonly name?: { readonly match: 'equals' | 'contains'; readonly value: string };
}

export interface FoundResource {
  readonly rid: number;
  readonly type: string;
  readonly resourceId: string;
  readonly name: string;
  /** Keys in code-point order. */
  readonly tags: Tag[];
}

export interface Page {
  readonly offset: number;
  readonly limit: number;
}

/** Thresholds of the planner. Tests shrink them to drive every plan on a small dataset. */
export interface PlannerTuning {
  /** Posting lists up to this long are counted exactly when estimating. */
  readonly estimateCap: number;
  /** More merged streams than this are not worth it; the driver is read whole instead. */
  readonly maxStreamArms: number;
  /** A driver this small is read whole once: its matches give both the count and the page. */
  readonly materializeMax: number;
  /**
   * A driver up to this size is also read once when the estimates say few of its rows match,
   * so that the page would read it whole again after the count.
   */
  readonly materializeSparseMax: number;
  /** More name candidates than this and the name is no driver. */
  readonly nameCandidateCap: number;
}

export const DEFAULT_TUNING: PlannerTuning = Object.freeze({
  estimateCap: 1000,
  maxStreamArms: 100,
  materializeMax: 5000,
  materializeSparseMax: 50_000,
  nameCandidateCap: 5000,
});

interface Estimate {
  /** Estimated number of resources the predicate holds for. */
  readonly size: number;
  /** Only exact values: its posting lists come in rid order, one per type and value. */
  readonly streamable: boolean;
}

type Driver =
  | { readonly kind: 'predicate'; readonly pred: TagPredicate }
  | { readonly kind: 'any' }
  /**
   * Resources whose names may contain the needle, from the name index (see nameCandidates);
   * `exact`: exactly the filter's resources whose names do.
   */
  | { readonly kind: 'name'; readonly candidates: readonly number[]; readonly exact: boolean }
  | { readonly kind: 'resources' };

interface Planned {
  readonly tuning: PlannerTuning;
  readonly filter: ResourceFilter;
  readonly estimates: Map<TagPredicate, Estimate>;
  readonly resourceCount: number;
  readonly driver: Driver;
  readonly driverSize: number;
}

const q = (s: string) => sql.raw(s);
const and = (parts: RawBuilder<unknown>[]) =>
  parts.length === 0 ? sql`1 = 1` : sql.join(parts, sql` and `);

/** Case-sensitive substring test that takes `%` and `_` literally, on either database. */
function containsText(caps: StoreCapabilities, column: RawBuilder<unknown>, needle: string) {
  return sql`${q(caps.substringFunction)}(${column}, ${needle}) > 0`;
}

function valueCondition(caps: StoreCapabilities, alias: string, pred: TagPredicate) {
  const value = q(`${alias}.value`);
  const parts: RawBuilder<unknown>[] = [];
  if (pred.exact.length === 1) parts.push(sql`${value} = ${pred.exact[0]}`);
  else if (pred.exact.length > 1) parts.push(sql`${value} in (${sql.join([...pred.exact])})`);
  for (const c of pred.contains) parts.push(containsText(caps, value, c));
  if (parts.length === 0) return undefined;
  return parts.length === 1 ? parts[0]! : sql`(${sql.join(parts, sql` or `)})`;
}

/**
 * Whether the driver row `d` holds the predicate: one index probe. A single exact value is
 * looked up in its own posting list (`tags_kv`, by rid): a driver walks rids in order, so
 * consecutive probes land on neighbouring index pages, where primary-key probes would each land
 * on a page of their own. Anything else reads the resource's tag by primary key.
 */
function holds(caps: StoreCapabilities, f: ResourceFilter, pred: TagPredicate) {
  if (pred.exact.length === 1 && pred.contains.length === 0) {
    const hint = caps.indexHints ? sql` indexed by tags_kv` : sql``;
    return sql`exists (select 1 from tags x${hint} where x.project_id = ${f.projectId} and x.resource_type = d.resource_type and x.key = ${pred.key} and x.value = ${pred.exact[0]} and x.rid = d.rid)`;
  }
  const v = valueCondition(caps, 'x', pred);
  return sql`exists (select 1 from tags x where x.project_id = ${f.projectId} and x.rid = d.rid and x.key = ${pred.key}${v ? sql` and ${v}` : sql``})`;
}

/** `alias.rid = other.rid`, with the project where resources are keyed by it. */
function ridMatch(caps: StoreCapabilities, f: ResourceFilter, alias: string, other: string) {
  const same = sql`${q(`${alias}.rid`)} = ${q(`${other}.rid`)}`;
  return caps.ridKeyedByProject
    ? sql`${q(`${alias}.project_id`)} = ${f.projectId} and ${same}`
    : same;
}

/** `column LIKE '%needle%'`, every character of the needle taken literally. */
function likeCondition(column: RawBuilder<unknown>, needle: string) {
  const pattern = `%${needle.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return sql`${column} like ${pattern} escape '\\'`;
}

function nameCondition(caps: StoreCapabilities, f: ResourceFilter, alias: string) {
  if (!f.name) return undefined;
  const column = q(`${alias}.name`);
  if (f.name.match === 'equals') return sql`${column} = ${f.name.value}`;
  if (caps.nameSearch === 'like') return likeCondition(column, f.name.value);
  return containsText(caps, column, f.name.value);
}

/** Trigrams need three characters: shorter needles cannot use the name index. */
function nameIndexable(f: ResourceFilter): boolean {
  return f.name?.match === 'contains' && [...f.name.value].length >= 3;
}

/** An FTS5 phrase: the needle, quoted, matches the names containing it. */
function phrase(value: string): string {
  return `"${value.replaceAll('"', '""')}"`;
}

function typeCondition(alias: string, types: readonly string[]) {
  const column = q(`${alias}.resource_type`);
  return types.length === 1
    ? sql`${column} = ${types[0]}`
    : sql`${column} in (${sql.join([...types])})`;
}

/** Driver rows of one predicate: its posting lists in `tags_kv`. */
function postingCondition(
  caps: StoreCapabilities,
  f: ResourceFilter,
  pred: TagPredicate,
  types: readonly string[],
  exact?: string,
) {
  const parts = [
    sql`d.project_id = ${f.projectId}`,
    typeCondition('d', types),
    sql`d.key = ${pred.key}`,
  ];
  if (exact !== undefined) {
    parts.push(sql`d.value = ${exact}`);
  } else {
    const v = valueCondition(caps, 'd', pred);
    if (v) parts.push(v);
  }
  return and(parts);
}

const bySizeAscending = (p: Planned) => (a: TagPredicate, b: TagPredicate) =>
  (p.estimates.get(a)?.size ?? 0) - (p.estimates.get(b)?.size ?? 0);

/**
 * The conditions every driver row must pass, the most rejecting first: positive probes from the
 * rarest, exclusions from the commonest (the likeliest to reject), then the name.
 */
function checks(caps: StoreCapabilities, p: Planned, driverIsResources: boolean) {
  const f = p.filter;
  const out: RawBuilder<unknown>[] = [];
  const asc = bySizeAscending(p);
  const desc = (a: TagPredicate, b: TagPredicate) => asc(b, a);
  const driverPred = p.driver.kind === 'predicate' ? p.driver.pred : undefined;
  for (const pred of [...f.all].sort(asc)) {
    if (pred !== driverPred) out.push(holds(caps, f, pred));
  }
  for (const pred of [...f.notAny].sort(desc)) out.push(sql`not ${holds(caps, f, pred)}`);
  if (f.notAll.length > 0) {
    const inner = [...f.notAll].sort(asc).map((pred) => holds(caps, f, pred));
    out.push(sql`not (${sql.join(inner, sql` and `)})`);
  }
  if (f.any.length > 0 && p.driver.kind !== 'any') {
    const inner = [...f.any].sort(desc).map((pred) => holds(caps, f, pred));
    out.push(sql`(${sql.join(inner, sql` or `)})`);
  }
  if (f.untagged) {
    out.push(
      sql`not exists (select 1 from tags x where x.project_id = ${f.projectId} and x.rid = d.rid)`,
    );
  }
  if (f.name) {
    out.push(
      // Name candidates are rows already found: their names are tested, not searched again
      // (`LIKE` would lead PostgreSQL back to the trigram index, for the whole needle).
      p.driver.kind === 'name' && f.name.match === 'contains'
        ? containsText(caps, q('d.name'), f.name.value)
        : driverIsResources
          ? nameCondition(caps, f, 'd')!
          : sql`exists (select 1 from resources r where ${ridMatch(caps, f, 'r', 'd')} and ${nameCondition(caps, f, 'r')!})`,
    );
  }
  return out;
}

/**
 * Driver arms: selects of `d.rid` that together yield every match exactly once. With `streamed`,
 * one arm per type (and value), each in rid order so the database can merge them lazily.
 */
function driverArms(caps: StoreCapabilities, p: Planned, streamed: boolean): RawBuilder<unknown>[] {
  const f = p.filter;
  const typeGroups = streamed ? f.types.map((t) => [t]) : [f.types];
  switch (p.driver.kind) {
    case 'name': {
      // Candidates from the trigram index; the name itself is checked again.
      const rest = checks(caps, p, true);
      const candidates = p.driver.candidates;
      if (candidates.length === 0) return [sql`select d.rid from resources d where 1 = 0`];
      // On SQLite each candidate is found by its rowid; `+` keeps the planner from walking the
      // project's index for the project and type instead (four times slower at 1,000 candidates).
      const alias = caps.ridKeyedByProject ? 'd' : '+d';
      return typeGroups.map(
        (types) =>
          sql`select d.rid from resources d where ${and([sql`d.rid in (${sql.join([...candidates])})`, sql`${q(alias)}.project_id = ${f.projectId}`, typeCondition(alias, types), ...rest])}`,
      );
    }
    case 'resources': {
      const rest = checks(caps, p, true);
      return typeGroups.map(
        (types) =>
          sql`select d.rid from resources d where ${and([sql`d.project_id = ${f.projectId}`, typeCondition('d', types), ...rest])}`,
      );
    }
    case 'predicate': {
      const pred = p.driver.pred;
      const rest = checks(caps, p, false);
      const values: (string | undefined)[] = streamed ? [...pred.exact] : [undefined];
      return typeGroups.flatMap((types) =>
        values.map(
          (v) =>
            sql`select d.rid from tags d where ${and([postingCondition(caps, f, pred, types, v), ...rest])}`,
        ),
      );
    }
    case 'any': {
      // A resource may hold several of the alternatives: arm i takes only those that hold none
      // of the alternatives before it, so each match comes once.
      const rest = checks(caps, p, false);
      const preds = [...f.any].sort(bySizeAscending(p));
      return preds.flatMap((pred, i) => {
        const earlier = preds.slice(0, i).map((e) => sql`not ${holds(caps, f, e)}`);
        const values: (string | undefined)[] = streamed ? [...pred.exact] : [undefined];
        return typeGroups.flatMap((types) =>
          values.map(
            (v) =>
              sql`select d.rid from tags d where ${and([postingCondition(caps, f, pred, types, v), ...earlier, ...rest])}`,
          ),
        );
      });
    }
  }
}

function union(arms: RawBuilder<unknown>[]) {
  return sql.join(arms, sql` union all `);
}

/**
 * Sizes of posting lists, and the rid bounds of each type's resources (the density of a long
 * posting list is measured against them): one statement for all of them, a round trip being a
 * large part of a selective query's time on a database over the network.
 */
async function estimate(
  ex: Executor,
  f: ResourceFilter,
  preds: readonly TagPredicate[],
  tuning: PlannerTuning,
): Promise<{ estimates: Map<TagPredicate, Estimate>; resourceCount: number }> {
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

/** Windows of the needle tried before the whole needle. */
const NAME_WINDOWS_TRIED = 4;

/**
 * Resources whose names may contain the needle, when there are fewer than the cap; undefined when
 * there are more. With FTS5 a superset, every one checked again; on PostgreSQL exactly the
 * filter's resources whose names contain it (`exact`).
 *
 * A trigram index pays for a needle the length of every one of its trigrams' posting lists, and
 * a long needle usually has common trigrams ("-pro", "rod"…). A four-character window of it is
 * two trigrams: the first few windows are tried, and the first one rare enough gives the
 * candidates; only if none is, the whole needle is searched.
 *
 * FTS5 (`fts5`): the phrase of the window, in every project. PostgreSQL (`like`): `LIKE` on the
 * window, which the pg_trgm index serves where there is one, with the project, the types and the
 * whole needle checked in the same statement; without the index a window costs one scan of the
 * project's resources, stopped early when the window is common.
 */
async function nameCandidates(
  ex: Executor,
  caps: StoreCapabilities,
  f: ResourceFilter,
  cap: number,
): Promise<{ rids: number[]; exact: boolean } | undefined> {
  const needle = f.name!.value;
  const chars = [...needle];
  const windows: string[] = [];
  for (let i = 0; i + 4 <= chars.length && windows.length < NAME_WINDOWS_TRIED; i++) {
    windows.push(chars.slice(i, i + 4).join(''));
  }
  if (chars.length > 4 || windows.length === 0) windows.push(needle);
  for (const w of windows) {
    const query =
      caps.nameSearch === 'fts5'
        ? sql<{
            rid: number | string;
          }>`select rowid as rid from resource_names where resource_names match ${phrase(w)} limit ${sql.lit(cap)}`
        : sql<{
            rid: number | string;
          }>`select d.rid from resources d where ${and([
            sql`d.project_id = ${f.projectId}`,
            typeCondition('d', f.types),
            likeCondition(q('d.name'), w),
            ...(w === needle ? [] : [containsText(caps, q('d.name'), needle)]),
          ])} limit ${sql.lit(cap)}`;
    const { rows } = await query.execute(ex);
    if (rows.length < cap) {
      return { rids: rows.map((r) => Number(r.rid)), exact: caps.nameSearch !== 'fts5' };
    }
  }
  return undefined;
}

/** The matches themselves, when the name candidates are exact and nothing else is asked. */
function givenMatches(p: Planned): readonly number[] | undefined {
  const f = p.filter;
  const onlyName =
    !f.untagged &&
    f.all.length === 0 &&
    f.any.length === 0 &&
    f.notAll.length === 0 &&
    f.notAny.length === 0;
  return p.driver.kind === 'name' && p.driver.exact && onlyName ? p.driver.candidates : undefined;
}

/** What the estimates are for: the sizes of a filter's posting lists and of its resources. */
interface Sizes {
  readonly estimates: Map<TagPredicate, Estimate>;
  readonly resourceCount: number;
}

/** The smallest posting list drives; the resources themselves when no tag condition is smaller. */
function choose(f: ResourceFilter, sizes: Sizes, tuning: PlannerTuning): Planned {
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

async function plan(
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

function normalise(f: ResourceFilter): ResourceFilter {
  // Without any tag: the tag lists are ignored.
  if (f.untagged) return { ...f, all: [], any: [], notAll: [], notAny: [] };
  // One alternative is simply a condition; one condition not all of which may hold, an exclusion.
  let out = f;
  if (out.any.length === 1) out = { ...out, all: [...out.all, out.any[0]!], any: [] };
  if (out.notAll.length === 1)
    out = { ...out, notAny: [...out.notAny, out.notAll[0]!], notAll: [] };
  return out;
}

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
async function countFilter(
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

/** How many resources match. */
export async function countResources(
  ex: Executor,
  caps: StoreCapabilities,
  filter: ResourceFilter,
  tuning: PlannerTuning = DEFAULT_TUNING,
): Promise<number> {
  return countFilter(ex, caps, normalise(filter), tuning);
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

async function pageRids(
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
async function sortedRids(ex: Executor, caps: StoreCapabilities, p: Planned): Promise<number[]> {
  const given = givenMatches(p);
  if (given) return [...given].sort((a, b) => b - a);
  const arms = driverArms(caps, p, false);
  const { rows } = await sql<{
    rid: number | string;
  }>`select s.rid from (${union(arms)}) s order by s.rid + 0 desc`.execute(ex);
  return rows.map((r) => Number(r.rid));
}

interface ResourceRow {
  rid: number | string;
  resource_type: string;
  resource_id: string;
  name: string;
}

interface TagRow {
  rid: number | string;
  key: string | null;
  value: string | null;
}

/**
 * The rows of the given resources and of their tags. Where a statement is a round trip
 * (`statementRoundTrips`), one: each resource's row repeated beside each of its tags; otherwise
 * two, the resources' rows and the tags', which is less to build.
 */
async function resourceAndTagRows(
  ex: Executor,
  caps: StoreCapabilities,
  projectId: string,
  rids: readonly number[],
): Promise<{ resources: ResourceRow[]; tags: TagRow[] }> {
  if (caps.statementRoundTrips) {
    const project = caps.ridKeyedByProject ? sql` and r.project_id = ${projectId}` : sql``;
    const { rows } = await sql<
      ResourceRow & TagRow
    >`select r.rid, r.resource_type, r.resource_id, r.name, t.key, t.value from resources r left join tags t on t.project_id = ${projectId} and t.rid = r.rid where r.rid in (${sql.join([...rids])})${project} order by r.rid, t.key`.execute(
      ex,
    );
    return { resources: rows, tags: rows };
  }
  let query = ex
    .selectFrom('resources')
    .select(['rid', 'resource_type', 'resource_id', 'name'])
    .where('rid', 'in', [...rids]);
  if (caps.ridKeyedByProject) query = query.where('project_id', '=', projectId);
  const resources = await query.execute();
  const tags = await ex
    .selectFrom('tags')
    .select(['rid', 'key', 'value'])
    .where('project_id', '=', projectId)
    .where('rid', 'in', [...rids])
    .orderBy('rid')
    .orderBy('key')
    .execute();
  return { resources, tags };
}

/** The resources (with their tags) of the given rids, in the order given. */
export async function loadResources(
  ex: Executor,
  caps: StoreCapabilities,
  projectId: string,
  rids: readonly number[],
): Promise<FoundResource[]> {
  if (rids.length === 0) return [];
  const { resources, tags } = await resourceAndTagRows(ex, caps, projectId, rids);
  const byRid = new Map<number, FoundResource>();
  for (const r of resources) {
    const rid = Number(r.rid);
    if (!byRid.has(rid)) {
      byRid.set(rid, {
        rid,
        type: r.resource_type,
        resourceId: r.resource_id,
        name: r.name,
        tags: [],
      });
    }
  }
  // Tags come by rid, then key: each resource's list is in key order.
  for (const t of tags) {
    if (t.key !== null && t.value !== null) {
      byRid.get(Number(t.rid))?.tags.push({ key: t.key, value: t.value });
    }
  }
  const out: FoundResource[] = [];
  for (const rid of rids) {
    const r = byRid.get(rid);
    if (r) out.push(r);
  }
  return out;
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
  const p = await plan(ex, caps, f, tuning);
  if (p.resourceCount === 0) return { total: 0, resources: [] };
  let total: number;
  let rids: number[];
  const readOnce =
    p.driverSize <= tuning.materializeMax ||
    (p.driverSize <= tuning.materializeSparseMax &&
      !cheaperStream(p, expectedMatches(p), page.offset + page.limit, 0.5));
  if (readOnce) {
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
