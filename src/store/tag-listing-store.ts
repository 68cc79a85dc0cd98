import { type RawBuilder, sql } from 'kysely';
import type { ResourceCondition } from '../core/resource-condition.js';
import type { Executor } from './executor.js';
import { accessCondition } from './query/access-condition.js';
import type { StoreCapabilities } from './store-capabilities.js';

/**
 * Distinct tag keys and values of a project, read by skipping through the `tags_kv` index
 * (project, type, key, value): each distinct key or value costs one index seek, however many
 * resources carry it, so listing a project's tags does not read its every tag.
 *
 * With `readable`, only the tags of the resources a caller may read count: each seek then walks
 * on past the tags of resources it may not read.
 */

/** The resources whose tags are listed: those where the condition holds. */
export interface Readable {
  readonly caps: StoreCapabilities;
  readonly condition: ResourceCondition;
}

/** ` and <condition on the tags row t>`, or nothing. */
function readableBy(projectId: string, readable: Readable | undefined): RawBuilder<unknown> {
  if (!readable || readable.condition.kind === 'always') return sql``;
  return sql` and ${accessCondition(readable.caps, projectId, readable.condition, 't')}`;
}

/** Code-point order, the order keys and values are listed in (JS `<` compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const d = (x[i]!.codePointAt(0) ?? 0) - (y[i]!.codePointAt(0) ?? 0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** Keys of one resource type in a project, ascending; only those after `after`, at most `limit`. */
export async function distinctKeys(
  ex: Executor,
  projectId: string,
  type: string,
  options: { after?: string; limit?: number; readable?: Readable } = {},
): Promise<string[]> {
  if (options.readable?.condition.kind === 'never') return [];
  const after = options.after !== undefined ? sql` and t.key > ${options.after}` : sql``;
  const more = options.limit !== undefined ? sql` and k.n < ${options.limit}` : sql``;
  const readable = readableBy(projectId, options.readable);
  const { rows } = await sql<{ key: string | null }>`
    with recursive k(key, n) as (
      select (select min(t.key) from tags t where t.project_id = ${projectId} and t.resource_type = ${type}${after}${readable}), 1
      union all
      select (select min(t.key) from tags t where t.project_id = ${projectId} and t.resource_type = ${type} and t.key > k.key${readable}), k.n + 1
      from k where k.key is not null${more}
    )
    select key from k where key is not null`.execute(ex);
  return rows.map((r) => r.key!);
}

/** For each key, its distinct values in one resource type of a project, ascending. */
export async function distinctValues(
  ex: Executor,
  projectId: string,
  type: string,
  keys: readonly string[],
  options: { readable?: Readable } = {},
): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(keys.map((k) => [k, []]));
  if (keys.length === 0 || options.readable?.condition.kind === 'never') return out;
  const readable = readableBy(projectId, options.readable);
  const list = sql.join(
    keys.map((k) => sql`select ${k} as key`),
    sql` union all `,
  );
  const { rows } = await sql<{ key: string; value: string }>`
    with recursive v(key, value) as (
      select ks.key, (select min(t.value) from tags t where t.project_id = ${projectId} and t.resource_type = ${type} and t.key = ks.key${readable})
      from (${list}) ks
      union all
      select v.key, (select min(t.value) from tags t where t.project_id = ${projectId} and t.resource_type = ${type} and t.key = v.key and t.value > v.value${readable})
      from v where v.value is not null
    )
    select key, value from v where value is not null`.execute(ex);
  for (const r of rows) out.get(r.key)?.push(r.value);
  for (const values of out.values()) values.sort(compareCodePoints);
  return out;
}

/** Values of one key in one resource type of a project, ascending, after `after`, at most `limit`. */
export async function distinctValuesOfKey(
  ex: Executor,
  projectId: string,
  type: string,
  key: string,
  options: { after?: string; limit?: number; readable?: Readable } = {},
): Promise<string[]> {
  if (options.readable?.condition.kind === 'never') return [];
  const after = options.after !== undefined ? sql` and t.value > ${options.after}` : sql``;
  const more = options.limit !== undefined ? sql` and v.n < ${options.limit}` : sql``;
  const readable = readableBy(projectId, options.readable);
  const { rows } = await sql<{ value: string | null }>`
    with recursive v(value, n) as (
      select (select min(t.value) from tags t where t.project_id = ${projectId} and t.resource_type = ${type} and t.key = ${key}${after}${readable}), 1
      union all
      select (select min(t.value) from tags t where t.project_id = ${projectId} and t.resource_type = ${type} and t.key = ${key} and t.value > v.value${readable}), v.n + 1
      from v where v.value is not null${more}
    )
    select value from v where value is not null`.execute(ex);
  return rows.map((r) => r.value!);
}
