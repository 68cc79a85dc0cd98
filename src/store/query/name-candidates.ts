import { sql } from 'kysely';
import type { Executor } from '../executor.js';
import type { StoreCapabilities } from '../store-capabilities.js';
import { and, containsText, likeCondition, q, typeCondition } from './conditions.js';
import type { ResourceFilter } from './resource-filter.js';

/** Trigrams need three characters: shorter needles cannot use the name index. */
export function nameIndexable(f: ResourceFilter): boolean {
  return f.name?.match === 'contains' && [...f.name.value].length >= 3;
}

/** An FTS5 phrase: the needle, quoted, matches the names containing it. */
function phrase(value: string): string {
  return `"${value.replaceAll('"', '""')}"`;
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
export async function nameCandidates(
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
