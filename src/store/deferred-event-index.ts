import { type RawBuilder, type SelectQueryBuilder, sql } from 'kysely';
import type { Executor } from './executor.js';
import { insertGatheredEvents } from './gathered-events.js';
import type { Database } from './schema.js';

/*
 * The change log's indexes where they are filled in the background (SQLite, migrations 0014 and
 * 0015): by resource `event_resource_index (resource_key, event_id)`, by project
 * `event_project_index (project_key, event_id)` and by time `event_time_index (time, event_id)`,
 * all complete up to the mark `event_indexes_mark.indexed_through`. A write appends its event at
 * the end of the log only, touching no index; the indexer later adds a batch of events to each
 * index in one statement, in key order, so that each index page a batch touches is written once
 * for all the batch's events on it, not once per write. A read through an index takes it up to
 * the mark and scans the log after it (by id, on the primary key: the short tail the indexer has
 * not reached yet).
 */

/** The name under which the SQLite writer connection knows `indexKey` (sqlite-connection.ts). */
export const INDEX_KEY_FUNCTION = 'tagplane_resource_key';

/**
 * The index key of a resource id or a project id: 32-bit FNV-1a over its UTF-16 code units,
 * signed (SQLite stores it in 4 bytes). Stored in the indexes, so it must never change. Other ids
 * may share a key (the same resource id in another project or type, or a collision): every read
 * checks the event's own columns.
 */
export function indexKey(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

/** The id up to which every event is in the indexes. */
export async function indexedThrough(ex: Executor): Promise<number> {
  const row = await ex
    .selectFrom('event_indexes_mark')
    .select('indexed_through')
    .executeTakeFirst();
  return Number(row?.indexed_through ?? 0);
}

const KEY = sql.raw(INDEX_KEY_FUNCTION);

/** About how many events are not indexed yet: the log's ids past the mark (no count of rows). */
export async function unindexedEvents(ex: Executor): Promise<number> {
  const { rows } = await sql<{ n: number | null }>`
    select max(id) - (select indexed_through from event_indexes_mark) as n from events`.execute(ex);
  return Math.max(0, Number(rows[0]?.n ?? 0));
}

/**
 * Adds up to `limit` events after the mark to the indexes and moves the mark past them; returns
 * how many. Call it in a write transaction on the writer connection (which knows the key
 * function): reading the mark there keeps two processes from indexing the same events.
 */
export async function indexEventBatch(ex: Executor, limit: number): Promise<number> {
  await insertGatheredEvents(ex);
  const mark = await indexedThrough(ex);
  const { rows } = await sql<{ through: number | null; n: number }>`
    select max(id) as through, count(*) as n
    from (select id from events where id > ${mark} order by id limit ${limit})`.execute(ex);
  const through = Number(rows[0]?.through ?? 0);
  const n = Number(rows[0]?.n ?? 0);
  if (n === 0) return 0;
  const batch = sql`from events where id > ${mark} and id <= ${through} order by 1, 2`;
  await sql`insert or ignore into event_resource_index (resource_key, event_id)
    select ${KEY}(resource_id), id ${batch}`.execute(ex);
  await sql`insert or ignore into event_project_index (project_key, event_id)
    select ${KEY}(project_id), id ${batch}`.execute(ex);
  await sql`insert or ignore into event_time_index (time, event_id)
    select time, id ${batch}`.execute(ex);
  await ex.updateTable('event_indexes_mark').set({ indexed_through: through }).execute();
  return n;
}

/**
 * Empties the indexes and indexes the whole log again (after an import, whose events come with
 * ids of their own). Call it in a write transaction on the writer connection.
 */
export async function rebuildEventIndex(ex: Executor): Promise<void> {
  await forgetAllIndexedEvents(ex);
  await ex.updateTable('event_indexes_mark').set({ indexed_through: 0 }).execute();
  while ((await indexEventBatch(ex, 100_000)) > 0) {}
}

/** Removes the index rows of the events `where` selects, before those events are deleted. */
export async function forgetIndexedEvents(ex: Executor, where: RawBuilder<unknown>): Promise<void> {
  await sql`delete from event_resource_index where (resource_key, event_id) in (
    select ${KEY}(resource_id), id from events where ${where})`.execute(ex);
  await sql`delete from event_project_index where (project_key, event_id) in (
    select ${KEY}(project_id), id from events where ${where})`.execute(ex);
  await sql`delete from event_time_index where (time, event_id) in (
    select time, id from events where ${where})`.execute(ex);
}

/** Removes every index row (every event is about to be deleted). */
export async function forgetAllIndexedEvents(ex: Executor): Promise<void> {
  await ex.deleteFrom('event_resource_index').execute();
  await ex.deleteFrom('event_project_index').execute();
  await ex.deleteFrom('event_time_index').execute();
}

/**
 * Which index a read goes through: the events of a resource (its id's key), of a project (its
 * id's key), or of a time span (inclusive bounds as stored). Rows found must still be checked
 * against the read's own filter.
 */
export type IndexedBy =
  | { readonly index: 'resource' | 'project'; readonly key: number }
  | { readonly index: 'time'; readonly from?: string; readonly to?: string };

/**
 * The index that narrows a read best, where one does: a resource's events are the fewest, then
 * a project's; a time span is taken alone only when the read names neither.
 */
export function indexFor(filter: {
  readonly resourceId?: string;
  readonly projectId?: string;
  readonly from?: string;
  readonly to?: string;
}): IndexedBy | undefined {
  if (filter.resourceId !== undefined)
    return { index: 'resource', key: indexKey(filter.resourceId) };
  if (filter.projectId !== undefined) return { index: 'project', key: indexKey(filter.projectId) };
  if (filter.from !== undefined || filter.to !== undefined) {
    return {
      index: 'time',
      ...(filter.from !== undefined ? { from: filter.from } : {}),
      ...(filter.to !== undefined ? { to: filter.to } : {}),
    };
  }
  return undefined;
}

/**
 * One part of a read through an index: the events the index holds (after `after`, up to
 * `through`), or the log after the mark (`after`). Both end before `before` when it is given.
 */
export type IndexPart =
  | {
      readonly indexed: true;
      readonly by: IndexedBy;
      readonly after: number;
      readonly through: number;
      readonly before?: number;
    }
  | { readonly indexed: false; readonly after: number; readonly before?: number };

/**
 * Reads events through the index `by`, by id in `order`, up to `limit` (none: all): `read` reads
 * one part in that order, and the parts are taken one after the other (every indexed id is below
 * every id after the mark), until the limit is reached. The mark is read once: the index holds
 * every event up to it for as long as those events are kept, whatever the indexer does meanwhile.
 */
export async function readIndexed<T>(
  ex: Executor,
  by: IndexedBy,
  bounds: { readonly after?: number; readonly before?: number },
  order: 'asc' | 'desc',
  limit: number | undefined,
  read: (part: IndexPart, limit: number | undefined) => Promise<T[]>,
): Promise<T[]> {
  const mark = await indexedThrough(ex);
  const after = bounds.after ?? 0;
  const before = bounds.before !== undefined ? { before: bounds.before } : {};
  const parts: IndexPart[] = [];
  if (after < mark && (bounds.before === undefined || bounds.before > after + 1)) {
    parts.push({ indexed: true, by, after, through: mark, ...before });
  }
  if (bounds.before === undefined || bounds.before > mark + 1) {
    parts.push({ indexed: false, after: Math.max(after, mark), ...before });
  }
  if (order === 'desc') parts.reverse();
  const found: T[] = [];
  for (const part of parts) {
    const left = limit === undefined ? undefined : limit - found.length;
    if (left !== undefined && left <= 0) break;
    found.push(...(await read(part, left)));
  }
  return found;
}

/** The log's rows of one part (`events`, to be filtered further), and the column to order by. */
export function eventsOfPart(
  ex: Executor,
  part: IndexPart,
): { from: SelectQueryBuilder<Database, 'events', object>; orderBy: string } {
  if (!part.indexed) {
    let q = ex.selectFrom('events').where('events.id', '>', part.after);
    if (part.before !== undefined) q = q.where('events.id', '<', part.before);
    return { from: q, orderBy: 'events.id' };
  }
  const { by } = part;
  // CROSS JOIN keeps the index as the outer loop: SQLite walks the index and reads each event by
  // its id; on a key, in id order, so the ORDER BY on the index's id needs no sort.
  let q =
    by.index === 'time'
      ? timeRows(ex, by.from, by.to)
      : by.index === 'resource'
        ? ex
            .selectFrom('event_resource_index as x')
            .crossJoin('events')
            .whereRef('events.id', '=', 'x.event_id')
            .where('x.resource_key', '=', by.key)
        : ex
            .selectFrom('event_project_index as x')
            .crossJoin('events')
            .whereRef('events.id', '=', 'x.event_id')
            .where('x.project_key', '=', by.key);
  q = q.where('x.event_id', '>', part.after).where('x.event_id', '<=', part.through);
  if (part.before !== undefined) q = q.where('x.event_id', '<', part.before);
  return {
    from: q as unknown as SelectQueryBuilder<Database, 'events', object>,
    orderBy: 'x.event_id',
  };
}

/** The events of a time span, from the time index (their ids then need a sort). */
function timeRows(ex: Executor, from: string | undefined, to: string | undefined) {
  let q = ex
    .selectFrom('event_time_index as x')
    .crossJoin('events')
    .whereRef('events.id', '=', 'x.event_id');
  if (from !== undefined) q = q.where('x.time', '>=', from);
  if (to !== undefined) q = q.where('x.time', '<=', to);
  return q;
}
