import { type SelectQueryBuilder, sql } from 'kysely';
import type { ChangeEvent } from '../core/change-event.js';
import { eventsOfPart, indexFor, readIndexed } from './deferred-event-index.js';
import { resourceIs, toChangeEvent } from './events-store.js';
import type { Executor } from './executor.js';
import { insertGatheredEvents } from './gathered-events.js';
import type { Database } from './schema.js';
import type { StoreCapabilities } from './store-capabilities.js';

/*
 * The change log read as the cloud's trace service lists it (CTS ListTraces): a project's
 * events newest first, each with its resource's name and enterprise project and its domain's
 * name.
 */

/** Which events a trace listing selects (CTS ListTraces); all fields narrow it. */
export interface TraceFilter {
  readonly projectId: string;
  /** Lowercase service id (`bms`). */
  readonly service?: string;
  readonly userName?: string;
  readonly resourceId?: string;
  readonly resourceType?: string;
  readonly resourceName?: string;
  readonly operation?: string;
  readonly requestId?: string;
  readonly accessKey?: string;
  readonly enterpriseProjectId?: string;
  readonly eventId?: number;
  readonly before?: number;
  /** Inclusive time bounds as stored. */
  readonly from?: string;
  readonly to?: string;
}

/** An event with what a trace shows besides: its resource's name and enterprise project, its domain's name. */
export interface TraceEvent extends ChangeEvent {
  readonly resourceName?: string;
  readonly enterpriseProjectId?: string;
  readonly domainName?: string;
}

/** Up to `limit` events of a project matching `filter`, newest first. */
export async function listTraceEvents(
  ex: Executor,
  caps: StoreCapabilities,
  f: TraceFilter,
  limit: number,
): Promise<TraceEvent[]> {
  await insertGatheredEvents(ex);
  // One event by its id is found on the log's primary key.
  const by = caps.deferredEventIndex && f.eventId === undefined ? indexFor(f) : undefined;
  if (by !== undefined) {
    const bounds = f.before !== undefined ? { before: f.before } : {};
    return readIndexed(ex, by, bounds, 'desc', limit, (part, left) => {
      const { from, orderBy } = eventsOfPart(ex, part);
      return selectTraceEvents(from, caps, f, left ?? limit, orderBy);
    });
  }
  return selectTraceEvents(ex.selectFrom('events'), caps, f, limit, 'events.id');
}

async function selectTraceEvents(
  from: SelectQueryBuilder<Database, 'events', object>,
  caps: StoreCapabilities,
  f: TraceFilter,
  limit: number,
  orderBy: string,
): Promise<TraceEvent[]> {
  let q = from
    .leftJoin('resources as r', (j) =>
      j
        .onRef('r.project_id', '=', 'events.project_id')
        .onRef('r.resource_type', '=', 'events.resource_type')
        .onRef('r.resource_id', '=', 'events.resource_id'),
    )
    .leftJoin('domains as d', 'd.id', 'events.domain_id')
    .selectAll('events')
    .select([
      'r.name as resource_name',
      'r.enterprise_project_id as resource_enterprise_project_id',
      'd.name as domain_name',
    ])
    .where('events.project_id', '=', f.projectId);
  if (f.service !== undefined) q = q.where('events.service', '=', f.service);
  if (f.userName !== undefined) q = q.where('events.user_name', '=', f.userName);
  if (f.resourceId !== undefined) q = q.where(resourceIs(caps, 'events', f.resourceId));
  if (f.resourceType !== undefined) q = q.where('events.resource_type', '=', f.resourceType);
  if (f.resourceName !== undefined) q = q.where('r.name', '=', f.resourceName);
  if (f.operation !== undefined) q = q.where('events.operation', '=', f.operation);
  if (f.requestId !== undefined) q = q.where('events.request_id', '=', f.requestId);
  if (f.accessKey !== undefined) q = q.where('events.access_key', '=', f.accessKey);
  if (f.enterpriseProjectId !== undefined) {
    q = q.where('r.enterprise_project_id', '=', f.enterpriseProjectId);
  }
  if (f.eventId !== undefined) q = q.where('events.id', '=', f.eventId);
  if (f.before !== undefined) q = q.where('events.id', '<', f.before);
  if (f.from !== undefined) q = q.where('events.time', '>=', f.from);
  if (f.to !== undefined) q = q.where('events.time', '<=', f.to);
  const rows = await q.orderBy(sql.ref(orderBy), 'desc').limit(limit).execute();
  return rows.map((row) => ({
    ...toChangeEvent(row),
    ...(row.resource_name !== null ? { resourceName: row.resource_name } : {}),
    ...(row.resource_enterprise_project_id !== null
      ? { enterpriseProjectId: row.resource_enterprise_project_id }
      : {}),
    ...(row.domain_name !== null ? { domainName: row.domain_name } : {}),
  }));
}
