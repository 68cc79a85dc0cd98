import { type RawBuilder, sql } from 'kysely';
import type { StoreCapabilities } from '../store-capabilities.js';
import { accessCondition } from './access-condition.js';
import {
  and,
  containsText,
  holds,
  nameCondition,
  postingCondition,
  q,
  ridMatch,
  typeCondition,
} from './conditions.js';
import type { Planned } from './planner.js';
import type { TagPredicate } from './resource-filter.js';

/**
 * The statements a plan runs: the arms that walk its driver, each row checked against the rest
 * of the filter in the order the estimates make cheapest.
 */

const bySizeAscending = (p: Planned) => (a: TagPredicate, b: TagPredicate) =>
  (p.estimates.get(a)?.size ?? 0) - (p.estimates.get(b)?.size ?? 0);

/**
 * The conditions every driver row must pass, the most rejecting first: positive probes from the
 * rarest, exclusions from the commonest (the likeliest to reject), then the name, then what the
 * caller's policies allow.
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
  // The caller's policies last: they may probe several tags and the resource's row.
  if (f.access) out.push(accessCondition(caps, f.projectId, f.access, 'd'));
  return out;
}

/**
 * Driver arms: selects of `d.rid` that together yield every match exactly once. With `streamed`,
 * one arm per type (and value), each in rid order so the database can merge them lazily.
 */
export function driverArms(
  caps: StoreCapabilities,
  p: Planned,
  streamed: boolean,
): RawBuilder<unknown>[] {
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
