import { Type } from 'typebox';
import type { Moment } from '../admin/events.js';
import { AppError } from '../core/app-error.js';
import type { EventFilter } from '../store/events-store.js';
import { TagSchema } from './service-schemas.js';

/*
 * The change log's wire formats (SPEC §8): the event, the query of the event reads, and the
 * moment of an as-of read. Query values are checked here, each fault answered 400 with a message
 * naming the parameter.
 */

export const EventSchema = Type.Object(
  {
    id: Type.String({ description: 'Decimal; strictly increasing across all nodes.' }),
    time: Type.String({ description: 'RFC 3339 UTC with milliseconds.' }),
    domain_id: Type.String(),
    project_id: Type.String(),
    resource_type: Type.String(),
    resource_id: Type.String(),
    service: Type.String({ description: 'modelarts, bms, ddm, as, mrs, tms or admin.' }),
    operation: Type.String({ description: 'The operationId of the route that made the change.' }),
    principal: Type.Object({
      type: Type.String({ description: 'root, iam_user, admin or open.' }),
      user_id: Type.Optional(Type.String()),
      user_name: Type.Optional(Type.String()),
      access_key: Type.Optional(
        Type.String({ description: 'The access key id of a signed call.' }),
      ),
    }),
    source_ip: Type.String(),
    request_id: Type.String(),
    changes: Type.Array(
      Type.Object({
        key: Type.String(),
        old: Type.Union([Type.String(), Type.Null()]),
        new: Type.Union([Type.String(), Type.Null()]),
      }),
    ),
  },
  { description: 'One changed resource: every tag change one request made to it.' },
);

const filterProperties = {
  project_id: Type.Optional(Type.String()),
  resource_type: Type.Optional(Type.String()),
  resource_id: Type.Optional(Type.String()),
  key: Type.Optional(Type.String({ description: 'Events with a change of this tag key.' })),
  principal: Type.Optional(Type.String({ description: 'Events made by this user id.' })),
  from: Type.Optional(Type.String({ description: 'RFC 3339; events at or after it.' })),
  to: Type.Optional(Type.String({ description: 'RFC 3339; events at or before it.' })),
  since: Type.Optional(Type.String({ description: 'An event id; events after it.' })),
};

export const EventQuerySchema = Type.Object({
  ...filterProperties,
  before: Type.Optional(Type.String({ description: 'An event id; events before it.' })),
  order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
  limit: Type.Optional(Type.String({ description: '1–1000, default 100.' })),
});

export const EventStreamQuerySchema = Type.Object(filterProperties);

export const EventPageSchema = Type.Object({
  events: Type.Array(EventSchema),
  next_marker: Type.Union([Type.String(), Type.Null()], {
    description:
      'Pass it back as since (ascending) or before (descending) for the next page; null on the last.',
  }),
});

export const AsOfQuerySchema = Type.Object({
  as_of: Type.Optional(
    Type.String({ description: 'RFC 3339 time or event id; absent: today’s tags.' }),
  ),
});

export const AsOfSchema = Type.Object({
  tags: Type.Array(TagSchema),
  as_of_event: Type.Union([Type.String(), Type.Null()], {
    description: 'The id of the resource’s last event at or before as_of; null when none.',
  }),
});

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
const EVENT_ID = /^\d{1,18}$/;

type Query = Record<string, unknown>;

function text(query: Query, name: string): string | undefined {
  const v = query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') {
    throw new AppError('invalid_parameter', `The query parameter '${name}' must be given once.`);
  }
  return v;
}

/** An RFC 3339 time as stored: UTC with milliseconds. */
export function readTime(query: Query, name: string): string | undefined {
  const v = text(query, name);
  if (v === undefined) return undefined;
  const t = RFC3339.test(v) ? new Date(v) : undefined;
  if (!t || Number.isNaN(t.getTime())) {
    throw new AppError(
      'invalid_parameter',
      `Invalid ${name} '${v}': use an RFC 3339 time such as 2026-01-31T12:00:00.000Z.`,
    );
  }
  return t.toISOString();
}

export function readEventId(query: Query, name: string): number | undefined {
  const v = text(query, name);
  if (v === undefined) return undefined;
  if (!EVENT_ID.test(v)) {
    throw new AppError('invalid_parameter', `Invalid ${name} '${v}': use an event id.`);
  }
  return Number(v);
}

/** The filter shared by the event reads and the live feed. */
export function readEventFilter(query: Query): EventFilter {
  const filter: Record<string, unknown> = {
    projectId: text(query, 'project_id'),
    resourceType: text(query, 'resource_type'),
    resourceId: text(query, 'resource_id'),
    key: text(query, 'key'),
    userId: text(query, 'principal'),
    from: readTime(query, 'from'),
    to: readTime(query, 'to'),
    after: readEventId(query, 'since'),
  };
  for (const [k, v] of Object.entries(filter)) if (v === undefined) delete filter[k];
  return filter as EventFilter;
}

export function readEventQuery(query: Query): {
  filter: EventFilter;
  order: 'asc' | 'desc';
  limit: number;
} {
  const filter = readEventFilter(query);
  const before = readEventId(query, 'before');
  const order = text(query, 'order') ?? 'asc';
  if (order !== 'asc' && order !== 'desc') {
    throw new AppError('invalid_parameter', `Invalid order '${order}': use asc or desc.`);
  }
  const rawLimit = text(query, 'limit');
  const limit = rawLimit === undefined ? 100 : Number(rawLimit);
  if (rawLimit !== undefined && (!/^\d+$/.test(rawLimit) || limit < 1 || limit > 1000)) {
    throw new AppError('invalid_parameter', `Invalid limit '${rawLimit}': use 1–1000.`);
  }
  return { filter: before === undefined ? filter : { ...filter, before }, order, limit };
}

/** `as_of`: an event id (digits) or an RFC 3339 time; undefined when absent. */
export function readMoment(query: Query): Moment | undefined {
  const v = text(query, 'as_of');
  if (v === undefined) return undefined;
  if (EVENT_ID.test(v)) return { id: Number(v) };
  const time = readTime(query, 'as_of');
  return { time: time! };
}
