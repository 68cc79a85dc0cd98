import { type RawBuilder, type SelectQueryBuilder, sql } from 'kysely';
import type {
  ChangeEvent,
  EventPrincipal,
  NewChangeEvent,
  TagChange,
} from '../core/change-event.js';
import {
  eventsOfPart,
  forgetAllIndexedEvents,
  forgetIndexedEvents,
  indexedThrough,
  indexFor,
  indexKey,
  readIndexed,
} from './deferred-event-index.js';
import { markEventsAppended } from './event-wakeup.js';
import type { Executor } from './executor.js';
import {
  type EventRow,
  gatherEvents,
  insertGatheredEvents,
  type NewEventRow,
} from './gathered-events.js';
import { prepared } from './prepared.js';
import type { Database } from './schema.js';
import type { StoreCapabilities } from './store-capabilities.js';

export function toChangeEvent(row: EventRow): ChangeEvent {
  const principal: Record<string, string> = { type: row.principal_type };
  if (row.user_id !== null) principal.user_id = row.user_id;
  if (row.user_name !== null) principal.user_name = row.user_name;
  if (row.access_key !== null) principal.access_key = row.access_key;
  return {
    id: String(row.id),
    time: row.time,
    domain_id: row.domain_id,
    project_id: row.project_id,
    resource_type: row.resource_type,
    resource_id: row.resource_id,
    service: row.service,
    operation: row.operation,
    principal: principal as unknown as EventPrincipal,
    source_ip: row.source_ip,
    request_id: row.request_id,
    changes: JSON.parse(row.changes) as TagChange[],
  };
}

const q = JSON.stringify;

/**
 * `JSON.stringify(toChangeEvent(row))`, built from the row's own text without the objects: for
 * a row as this process stored it (its changes are `changesJson`'s text, which parsing and
 * writing again gives back unchanged). The live feed encodes the events its commits hand it so.
 */
export function eventJson(row: EventRow): string {
  let principal = `{"type":${q(row.principal_type)}`;
  if (row.user_id !== null) principal += `,"user_id":${q(row.user_id)}`;
  if (row.user_name !== null) principal += `,"user_name":${q(row.user_name)}`;
  if (row.access_key !== null) principal += `,"access_key":${q(row.access_key)}`;
  return (
    `{"id":"${row.id}","time":${q(row.time)},"domain_id":${q(row.domain_id)},` +
    `"project_id":${q(row.project_id)},"resource_type":${q(row.resource_type)},` +
    `"resource_id":${q(row.resource_id)},"service":${q(row.service)},` +
    `"operation":${q(row.operation)},"principal":${principal}},` +
    `"source_ip":${q(row.source_ip)},"request_id":${q(row.request_id)},"changes":${row.changes}}`
  );
}

/** The stored form of a change list; `key` first, which the key filter relies on. */
function changesJson(changes: readonly TagChange[]): string {
  return JSON.stringify(changes.map((c) => ({ key: c.key, old: c.old, new: c.new })));
}

/**
 * Appends events to the log, in the caller's write transaction. The domain is the project's,
 * looked up by the same statement. In a group commit they are inserted with the group's other
 * events just before it commits (gathered-events.ts).
 */
export async function appendEvents(ex: Executor, events: readonly NewChangeEvent[]): Promise<void> {
  if (events.length === 0) return;
  markEventsAppended(ex);
  const rows = events.map(eventRow);
  if (gatherEvents(ex, rows)) return;
  await insertEvents(ex, rows);
}

export type { EventRow, NewEventRow } from './gathered-events.js';

export function eventRow(e: NewChangeEvent): NewEventRow {
  return {
    time: e.time,
    project_id: e.projectId,
    resource_type: e.resourceType,
    resource_id: e.resourceId,
    service: e.origin.service,
    operation: e.origin.operation,
    principal_type: e.origin.principal.type,
    user_id: e.origin.principal.user_id ?? null,
    user_name: e.origin.principal.user_name ?? null,
    access_key: e.origin.principal.access_key ?? null,
    source_ip: e.origin.sourceIp,
    request_id: e.origin.requestId,
    changes: changesJson(e.changes),
  };
}

/**
 * An event's row with its domain: the project's, `domainId` where the caller knows it (the
 * identity cache), else looked up by the statement inserting it.
 */
export function eventValues(r: NewEventRow, domainId?: string) {
  return {
    ...r,
    domain_id:
      domainId ??
      sql<string>`coalesce((select domain_id from projects where id = ${r.project_id}), '')`,
  };
}

/**
 * The key of a resource id in the per-resource index of the log (PostgreSQL, migrations 0018 and
 * 0019): the first 64 bits of its MD5, as a signed integer. Other ids may share it.
 */
export function resourceKey(resourceId: string): RawBuilder<string> {
  return sql<string>`(('x' || left(md5(${resourceId}::text), 16))::bit(64)::bigint)`;
}

/**
 * The values of the first event of a transaction that locked its resource before it had an xid
 * (PostgreSQL, migration 0019): the id `base + xid × 2^20`, which the insert trigger never
 * gives, and the resource's key, so that it goes straight into `event_log`, past the trigger.
 */
export function firstLockEventValues(r: NewEventRow, domainId?: string) {
  return {
    ...eventValues(r, domainId),
    id: sql<number>`(select base from events_id_base) + pg_current_xact_id()::text::bigint * 1048576`,
    resource_key: resourceKey(r.resource_id),
  };
}

/** Which of an event's optional columns are null: the variants of a statement inserting it. */
export function nullMask(r: NewEventRow): string {
  return `${r.user_id === null ? 0 : 1}${r.user_name === null ? 0 : 1}${r.access_key === null ? 0 : 1}`;
}

/** The insert of one event, compiled once per database kind and variant (see prepared.ts). */
const insertEvent = prepared(
  (ex: Executor, r: NewEventRow) => ex.insertInto('events').values(eventValues(r)),
  nullMask,
);

async function insertEvents(ex: Executor, rows: readonly NewEventRow[]): Promise<void> {
  if (rows.length === 1) {
    await insertEvent(ex, rows[0]!);
    return;
  }
  // In statements of at most EVENTS_PER_INSERT rows: a statement's parameters are limited
  // (65,535 on PostgreSQL), and a seed may change many thousands of resources.
  for (let i = 0; i < rows.length; i += EVENTS_PER_INSERT) {
    await ex
      .insertInto('events')
      .values(rows.slice(i, i + EVENTS_PER_INSERT).map((r) => eventValues(r)))
      .execute();
  }
}

/** Rows of one multi-row event insert: 14 parameters each, far below every store's limit. */
const EVENTS_PER_INSERT = 1_000;

/** Which events a read selects; every field narrows it. Ids are exclusive bounds. */
export interface EventFilter {
  readonly projectId?: string;
  readonly resourceType?: string;
  readonly resourceId?: string;
  /** Events with a change of this key. */
  readonly key?: string;
  /** Events made by this user id. */
  readonly userId?: string;
  /** Time bounds, inclusive, RFC 3339 UTC with milliseconds (as stored). */
  readonly from?: string;
  readonly to?: string;
  readonly after?: number;
  readonly before?: number;
}

/** Events read from the log. */
export interface EventRead {
  readonly events: ChangeEvent[];
  /**
   * Where an ascending read stopped (see `StoreCapabilities.eventHorizon`): every event below it
   * is final. Undefined where there is none, or when the read found nothing.
   */
  readonly horizon?: number;
  /**
   * The largest id of the events the read selected but held back at the horizon (committed, but
   * a transaction with a smaller id was still running); 0 when it held back none. They follow
   * the last event read: a read after the older transactions have ended takes them.
   */
  readonly heldThrough: number;
}

/**
 * The events of one resource id: the condition every read by resource uses. Where the log's
 * per-resource index is keyed by the id's hash (PostgreSQL, migrations 0018 and 0019: the column
 * `resource_key`, see `resourceKey`), it names the key as well, so that the index serves the
 * read; the rows are still matched on the id itself, as other ids may share the key.
 */
export function resourceIs(caps: StoreCapabilities, table: string, resourceId: string) {
  const same = sql<boolean>`${sql.ref(`${table}.resource_id`)} = ${resourceId}`;
  if (!caps.hashedResourceIndex) return same;
  return sql<boolean>`${same} and ${sql.ref(`${table}.resource_key`)} = ${resourceKey(resourceId)}`;
}

/** Every event with an id below this is final; none that commits later is (migration 0013). */
const HORIZON = sql<number>`(select tagplane_event_horizon())`;

/**
 * Up to `limit` events matching `filter` (all without one), by id in `order`. An ascending read,
 * which a reader tailing the log goes on from, takes only events that are final (see
 * `EventRead`). A descending read takes the newest committed, final or not: it goes on below its
 * last id, where an event that commits later can appear only while its transaction runs, and a
 * walk of the log that began before it did need not include it. Where the log's indexes are
 * filled apart from the writes, a read by resource, project or time goes through the one that
 * narrows it best (see deferred-event-index.ts).
 */
export async function listEvents(
  ex: Executor,
  caps: StoreCapabilities,
  filter: EventFilter,
  order: 'asc' | 'desc',
  limit: number | undefined,
): Promise<EventRead> {
  await insertGatheredEvents(ex);
  const by = caps.deferredEventIndex ? indexFor(filter) : undefined;
  if (by !== undefined) {
    // A store without a horizon (SQLite): every committed event is final.
    const events = await readIndexed(ex, by, filter, order, limit, async (part, left) => {
      const { from, orderBy } = eventsOfPart(ex, part);
      return (await selectEvents(from, caps, filter, order, left, orderBy)).events;
    });
    return { events, heldThrough: 0 };
  }
  return selectEvents(ex.selectFrom('events'), caps, filter, order, limit, 'events.id');
}

async function selectEvents(
  from: SelectQueryBuilder<Database, 'events', object>,
  caps: StoreCapabilities,
  filter: EventFilter,
  order: 'asc' | 'desc',
  limit: number | undefined,
  orderBy: string,
): Promise<EventRead> {
  let q = from.selectAll('events');
  if (filter.projectId !== undefined) q = q.where('project_id', '=', filter.projectId);
  if (filter.resourceType !== undefined) q = q.where('resource_type', '=', filter.resourceType);
  if (filter.resourceId !== undefined) {
    q = q.where(resourceIs(caps, 'events', filter.resourceId));
  }
  if (filter.userId !== undefined) q = q.where('user_id', '=', filter.userId);
  if (filter.from !== undefined) q = q.where('events.time', '>=', filter.from);
  if (filter.to !== undefined) q = q.where('events.time', '<=', filter.to);
  if (filter.after !== undefined) q = q.where('events.id', '>', filter.after);
  if (filter.before !== undefined) q = q.where('events.id', '<', filter.before);
  if (filter.key !== undefined) {
    // Inside a JSON string a quote is always escaped, so `{"key":` starts a change object and
    // the key's JSON string after it is the whole key: an exact, case-sensitive match.
    const needle = `{"key":${JSON.stringify(filter.key)},"old":`;
    q = q.where(sql<number>`${sql.raw(caps.substringFunction)}(changes, ${needle})`, '>', 0);
  }
  q = q.orderBy(sql.ref(orderBy), order);
  if (limit !== undefined) q = q.limit(limit);
  if (order === 'asc' && caps.eventHorizon) {
    // The horizon of the statement's own snapshot, so that what it takes is exactly what is final.
    const rows = await q.select(HORIZON.as('horizon')).execute();
    const horizon = rows[0] === undefined ? undefined : Number(rows[0].horizon);
    const final = rows.filter((r) => Number(r.id) < (horizon ?? 0));
    return {
      events: final.map(toChangeEvent),
      ...(horizon !== undefined ? { horizon } : {}),
      heldThrough: final.length < rows.length ? Number(rows.at(-1)?.id) : 0,
    };
  }
  const rows = await q.execute();
  return { events: rows.map(toChangeEvent), heldThrough: 0 };
}

/**
 * The id of the newest event that a reader tailing the log goes on from (below the horizon
 * where there is one), 0 when there is none.
 */
export async function lastEventId(ex: Executor, caps: StoreCapabilities): Promise<number> {
  await insertGatheredEvents(ex);
  let q = ex.selectFrom('events').select((eb) => eb.fn.max('id').as('id'));
  if (caps.eventHorizon) q = q.where('id', '<', HORIZON);
  const row = await q.executeTakeFirst();
  return Number(row?.id ?? 0);
}

/** The events of one resource after event `after`, oldest first. */
export async function resourceEventsAfter(
  ex: Executor,
  caps: StoreCapabilities,
  projectId: string,
  type: string,
  resourceId: string,
  after: number,
): Promise<ChangeEvent[]> {
  await insertGatheredEvents(ex);
  if (caps.deferredEventIndex) {
    const filter = { projectId, resourceType: type, resourceId, after };
    return (await listEvents(ex, caps, filter, 'asc', undefined)).events;
  }
  const rows = await ex
    .selectFrom('events')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('resource_type', '=', type)
    .where(resourceIs(caps, 'events', resourceId))
    .where('id', '>', after)
    .orderBy('id')
    .execute();
  return rows.map(toChangeEvent);
}

/**
 * The id of the last event of one resource at or before a moment: an event id (`atId`) or a
 * time (`atTime`, inclusive). 0 when there is none.
 */
export async function resourceEventAt(
  ex: Executor,
  caps: StoreCapabilities,
  projectId: string,
  type: string,
  resourceId: string,
  at: { atId?: number; atTime?: string },
): Promise<number> {
  await insertGatheredEvents(ex);
  if (caps.deferredEventIndex) {
    const filter: EventFilter = {
      projectId,
      resourceType: type,
      resourceId,
      ...(at.atId !== undefined ? { before: at.atId + 1 } : {}),
      ...(at.atTime !== undefined ? { to: at.atTime } : {}),
    };
    const [last] = (await listEvents(ex, caps, filter, 'desc', 1)).events;
    return last ? Number(last.id) : 0;
  }
  let q = ex
    .selectFrom('events')
    .select((eb) => eb.fn.max('id').as('id'))
    .where('project_id', '=', projectId)
    .where('resource_type', '=', type)
    .where(resourceIs(caps, 'events', resourceId));
  if (at.atId !== undefined) q = q.where('id', '<=', at.atId);
  if (at.atTime !== undefined) q = q.where('time', '<=', at.atTime);
  const row = await q.executeTakeFirst();
  return Number(row?.id ?? 0);
}

/**
 * Removes up to `batch` of the oldest events older than `before` (a time). Returns the newest
 * removed, or undefined when there was none to remove.
 */
export async function pruneEvents(
  ex: Executor,
  caps: StoreCapabilities,
  before: string,
  batch: number,
): Promise<{ id: number; time: string; count: number } | undefined> {
  await insertGatheredEvents(ex);
  if (caps.deferredEventIndex) return pruneOldestRun(ex, before, batch);
  const oldest = await ex
    .selectFrom('events')
    .select(['id', 'time'])
    .where('time', '<', before)
    .orderBy('id')
    .limit(batch)
    .execute();
  const newest = oldest.at(-1);
  if (!newest) return undefined;
  await ex
    .deleteFrom('events')
    .where('id', '<=', Number(newest.id))
    .where('time', '<', before)
    .execute();
  return { id: Number(newest.id), time: newest.time, count: oldest.length };
}

/**
 * `pruneEvents` where the log has no index of its own by time (SQLite): removes the oldest events
 * by id, up to `batch`, as far as they are older than `before`. An event older than that but
 * after a newer one (a write that took its time, then waited behind another process's commit)
 * stays until the newer one is pruned too: what is removed is always a run from the start of the
 * log, found there without a scan of what is kept.
 */
async function pruneOldestRun(
  ex: Executor,
  before: string,
  batch: number,
): Promise<{ id: number; time: string; count: number } | undefined> {
  const oldest = await ex
    .selectFrom('events')
    .select(['id', 'time'])
    .orderBy('id')
    .limit(batch)
    .execute();
  const run = oldest.findIndex((e) => e.time >= before);
  const count = run === -1 ? oldest.length : run;
  const newest = oldest[count - 1];
  if (!newest) return undefined;
  await forgetIndexedEvents(ex, sql`id <= ${Number(newest.id)}`);
  await ex.deleteFrom('events').where('id', '<=', Number(newest.id)).execute();
  return { id: Number(newest.id), time: newest.time, count };
}

/** Removes every event of one project (a project reset). */
export async function deleteProjectEvents(
  ex: Executor,
  caps: StoreCapabilities,
  projectId: string,
): Promise<void> {
  await insertGatheredEvents(ex);
  if (caps.deferredEventIndex) {
    // The project's events: those its index holds, and the log's tail after the mark.
    const mark = await indexedThrough(ex);
    const where = sql<boolean>`project_id = ${projectId} and id in (
      select event_id from event_project_index
        where project_key = ${indexKey(projectId)} and event_id <= ${mark}
      union all
      select id from events where id > ${mark})`;
    await forgetIndexedEvents(ex, where);
    await ex.deleteFrom('events').where(where).execute();
    return;
  }
  await ex.deleteFrom('events').where('project_id', '=', projectId).execute();
}

/** Removes what indexes the log beside it; call it before every event is deleted (a reset). */
export async function forgetEventIndex(ex: Executor, caps: StoreCapabilities): Promise<void> {
  await insertGatheredEvents(ex);
  if (caps.deferredEventIndex) await forgetAllIndexedEvents(ex);
}
