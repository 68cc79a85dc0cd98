import type { Authorizer } from '../auth/authorizer.js';
import type { Principal } from '../core/principal.js';
import { cts } from '../services/cts.js';
import type { Store } from '../store/database.js';
import { listTraceEvents, type TraceEvent, type TraceFilter } from '../store/trace-events-store.js';

export type { TraceFilter };

/** One trace as CTS v3 ListTraces answers it (the SDK model `Traces`). */
export interface Trace {
  readonly trace_id: string;
  readonly trace_name: string;
  readonly trace_rating: 'normal';
  readonly trace_type: 'ApiCall' | 'SystemAction';
  readonly service_type: string;
  readonly resource_type: string;
  readonly resource_id: string;
  readonly resource_name?: string;
  readonly enterprise_project_id?: string;
  readonly source_ip: string;
  readonly request_id: string;
  readonly request: string;
  readonly time: number;
  readonly record_time: number;
  readonly operation_id: string;
  readonly read_only: false;
  readonly user: {
    readonly id?: string;
    readonly name?: string;
    readonly domain: { readonly id: string; readonly name?: string };
    readonly access_key_id?: string;
    readonly principal_is_root_user?: 'true' | 'false';
  };
}

/**
 * A trace id in the form CTS gives them (a UUID), carrying the event id in its last group (and,
 * from 2^48 on, the rest in its first), so that `next` (the last trace id of a page) says where
 * the next page starts.
 */
export function traceId(eventId: number): string {
  const high = Math.floor(eventId / 2 ** 48);
  const low = eventId - high * 2 ** 48;
  return `${high.toString(16).padStart(8, '0')}-0000-4000-8000-${low.toString(16).padStart(12, '0')}`;
}

/** The event id a trace id carries, or undefined for one this API did not hand out. */
export function eventIdOfTrace(id: string): number | undefined {
  const m = /^([0-9a-f]{8})-0000-4000-8000-([0-9a-f]{12})$/.exec(id);
  if (!m) return undefined;
  const eventId = Number.parseInt(m[1]!, 16) * 2 ** 48 + Number.parseInt(m[2]!, 16);
  return Number.isSafeInteger(eventId) ? eventId : undefined;
}

function toTrace(e: TraceEvent): Trace {
  const p = e.principal;
  const time = Date.parse(e.time);
  return {
    trace_id: traceId(Number(e.id)),
    trace_name: e.operation,
    trace_rating: 'normal',
    trace_type: p.type === 'admin' ? 'SystemAction' : 'ApiCall',
    service_type: e.service.toUpperCase(),
    resource_type: e.resource_type,
    resource_id: e.resource_id,
    ...(e.resourceName !== undefined ? { resource_name: e.resourceName } : {}),
    ...(e.enterpriseProjectId !== undefined
      ? { enterprise_project_id: e.enterpriseProjectId }
      : {}),
    source_ip: e.source_ip,
    request_id: e.request_id,
    request: JSON.stringify({ changes: e.changes }),
    time,
    record_time: time,
    operation_id: e.operation,
    read_only: false,
    user: {
      ...(p.user_id !== undefined ? { id: p.user_id } : {}),
      ...(p.user_name !== undefined ? { name: p.user_name } : { name: p.type }),
      domain: { id: e.domain_id, ...(e.domainName !== undefined ? { name: e.domainName } : {}) },
      ...(p.access_key !== undefined ? { access_key_id: p.access_key } : {}),
      ...(p.type === 'root' || p.type === 'iam_user'
        ? { principal_is_root_user: p.type === 'root' ? 'true' : 'false' }
        : {}),
    },
  };
}

/**
 * One page of a project's traces, newest first: the changes of its resources' tags as CTS
 * management traces. `marker` is the last trace's id when more may follow.
 */
export async function listTraces(
  store: Store,
  authorizer: Authorizer,
  principal: Principal,
  filter: TraceFilter,
  limit: number,
): Promise<{ traces: Trace[]; marker: string | null }> {
  authorizer.authorize({ principal, profile: cts, permission: cts.permission });
  const rows = await listTraceEvents(store.db, store.caps, filter, limit + 1);
  const page = rows.slice(0, limit).map(toTrace);
  return { traces: page, marker: rows.length > limit ? (page.at(-1)?.trace_id ?? null) : null };
}
