import { type RawBuilder, sql } from 'kysely';
import type { StoreCapabilities } from '../store-capabilities.js';
import type { ResourceFilter, TagPredicate } from './resource-filter.js';

/**
 * The SQL fragments a filter turns into: tag, name and type conditions, the posting lists that
 * drive, and the probes that check a driver row. Where the two databases differ, a capability of
 * the store says how.
 */

export const q = (s: string) => sql.raw(s);
export const and = (parts: RawBuilder<unknown>[]) =>
  parts.length === 0 ? sql`1 = 1` : sql.join(parts, sql` and `);

export function union(arms: RawBuilder<unknown>[]) {
  return sql.join(arms, sql` union all `);
}

/** Case-sensitive substring test that takes `%` and `_` literally, on either database. */
export function containsText(caps: StoreCapabilities, column: RawBuilder<unknown>, needle: string) {
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
export function holds(caps: StoreCapabilities, f: ResourceFilter, pred: TagPredicate) {
  if (pred.exact.length === 1 && pred.contains.length === 0) {
    const hint = caps.indexHints ? sql` indexed by tags_kv` : sql``;
    return sql`exists (select 1 from tags x${hint} where x.project_id = ${f.projectId} and x.resource_type = d.resource_type and x.key = ${pred.key} and x.value = ${pred.exact[0]} and x.rid = d.rid)`;
  }
  const v = valueCondition(caps, 'x', pred);
  return sql`exists (select 1 from tags x where x.project_id = ${f.projectId} and x.rid = d.rid and x.key = ${pred.key}${v ? sql` and ${v}` : sql``})`;
}

/** `alias.rid = other.rid`, with the project where resources are keyed by it. */
export function ridMatch(caps: StoreCapabilities, f: ResourceFilter, alias: string, other: string) {
  const same = sql`${q(`${alias}.rid`)} = ${q(`${other}.rid`)}`;
  return caps.ridKeyedByProject
    ? sql`${q(`${alias}.project_id`)} = ${f.projectId} and ${same}`
    : same;
}

/** `column LIKE '%needle%'`, every character of the needle taken literally. */
export function likeCondition(column: RawBuilder<unknown>, needle: string) {
  const pattern = `%${needle.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return sql`${column} like ${pattern} escape '\\'`;
}

export function nameCondition(caps: StoreCapabilities, f: ResourceFilter, alias: string) {
  if (!f.name) return undefined;
  const column = q(`${alias}.name`);
  if (f.name.match === 'equals') return sql`${column} = ${f.name.value}`;
  if (caps.nameSearch === 'like') return likeCondition(column, f.name.value);
  return containsText(caps, column, f.name.value);
}

export function typeCondition(alias: string, types: readonly string[]) {
  const column = q(`${alias}.resource_type`);
  return types.length === 1
    ? sql`${column} = ${types[0]}`
    : sql`${column} in (${sql.join([...types])})`;
}

/** Driver rows of one predicate: its posting lists in `tags_kv`. */
export function postingCondition(
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
