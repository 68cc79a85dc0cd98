import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Authenticator } from '../auth/authenticator.js';
import type { Authorizer } from '../auth/authorizer.js';
import { AppError } from '../core/app-error.js';
import { CTS_ROUTE, cts } from '../services/cts.js';
import type { Store } from '../store/database.js';
import { eventIdOfTrace, listTraces, type TraceFilter } from '../tags/traces.js';
import { serviceRenderer } from './envelopes.js';
import { flatErrorSchema, gatewayErrorSchema } from './service-schemas.js';
import { signable } from './signable.js';

export interface CtsRouteDeps {
  readonly store: Store;
  readonly authenticator: Authenticator;
  readonly authorizer: Authorizer;
}

const optionalText = (description: string) => Type.Optional(Type.String({ description }));

const QuerySchema = Type.Object({
  trace_type: Type.String({
    description: 'Required. `system` (management traces: the tag changes); `data` has none.',
  }),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, description: 'Default 10.' })),
  from: Type.Optional(Type.Integer({ description: 'UTC epoch milliseconds; traces at or after.' })),
  to: Type.Optional(Type.Integer({ description: 'UTC epoch milliseconds; traces at or before.' })),
  next: optionalText('The marker of the previous page (its last trace_id).'),
  tracker_name: optionalText('`system` only.'),
  service_type: optionalText('MODELARTS, BMS, DDM, AS, MRS, TMS or ADMIN.'),
  user: optionalText('User name.'),
  resource_id: optionalText('Resource id.'),
  resource_name: optionalText('Resource name.'),
  resource_type: optionalText('Resource type (bms_server, …).'),
  trace_id: optionalText('One trace.'),
  trace_name: optionalText('The operationId of the route that made the change.'),
  trace_rating: optionalText('normal, warning or incident; every tag change is normal.'),
  access_key_id: optionalText('The access key a signed call used.'),
  enterprise_project_id: optionalText("The resource's enterprise project."),
  request_id: optionalText('The request id of the call that made the change.'),
});

const TraceSchema = Type.Object({
  trace_id: Type.String(),
  trace_name: Type.String(),
  trace_rating: Type.String(),
  trace_type: Type.String(),
  service_type: Type.String(),
  resource_type: Type.String(),
  resource_id: Type.String(),
  resource_name: Type.Optional(Type.String()),
  enterprise_project_id: Type.Optional(Type.String()),
  source_ip: Type.String(),
  request_id: Type.String(),
  request: Type.String({ description: 'JSON: {"changes":[{"key","old","new"}]}' }),
  time: Type.Integer({ description: 'UTC epoch milliseconds.' }),
  record_time: Type.Integer({ description: 'UTC epoch milliseconds.' }),
  operation_id: Type.String(),
  read_only: Type.Boolean(),
  user: Type.Object({
    id: Type.Optional(Type.String()),
    name: Type.Optional(Type.String()),
    domain: Type.Object({ id: Type.String(), name: Type.Optional(Type.String()) }),
    access_key_id: Type.Optional(Type.String()),
    principal_is_root_user: Type.Optional(Type.String()),
  }),
});

const ResponseSchema = Type.Object({
  traces: Type.Array(TraceSchema),
  meta_data: Type.Object({
    count: Type.Integer({ description: 'Traces in this answer.' }),
    marker: Type.Union([Type.String(), Type.Null()], {
      description: 'Pass it as next for the following page; null on the last page.',
    }),
  }),
});

const invalid = (message: string) => new AppError('invalid_parameter', message);

function one(query: Record<string, unknown>, name: string): string | undefined {
  const v = query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalid(`The parameter ${name} may be given once.`);
  return v;
}

function epochMs(query: Record<string, unknown>, name: string): string | undefined {
  const v = one(query, name);
  if (v === undefined) return undefined;
  if (!/^\d{1,15}$/.test(v)) throw invalid(`Invalid ${name} '${v}': use UTC epoch milliseconds.`);
  return new Date(Number(v)).toISOString();
}

/** The query of ListTraces, read as CTS reads it. `undefined`: no trace can match. */
function readTraceQuery(
  projectId: string,
  query: Record<string, unknown>,
): { filter: TraceFilter | undefined; limit: number } {
  const traceType = one(query, 'trace_type');
  if (traceType === undefined) throw invalid('The parameter trace_type is required: system.');
  if (traceType !== 'system' && traceType !== 'data') {
    throw invalid(`Invalid trace_type '${traceType}': use system or data.`);
  }
  const rawLimit = one(query, 'limit');
  const limit = rawLimit === undefined ? cts.limit.fallback : Number(rawLimit);
  if (rawLimit !== undefined && (!/^\d+$/.test(rawLimit) || limit < 1 || limit > cts.limit.max)) {
    throw invalid(`Invalid limit '${rawLimit}': use 1–${cts.limit.max}.`);
  }
  const from = epochMs(query, 'from');
  const to = epochMs(query, 'to');
  if (from !== undefined && to !== undefined && to < from) {
    throw invalid('to must not be earlier than from.');
  }
  const next = one(query, 'next');
  const before = next === undefined || next === '' ? undefined : eventIdOfTrace(next);
  if (next !== undefined && next !== '' && before === undefined) {
    throw invalid(`Invalid next '${next}': use the marker of the previous page.`);
  }
  const rating = one(query, 'trace_rating');
  if (rating !== undefined && !['normal', 'warning', 'incident'].includes(rating)) {
    throw invalid(`Invalid trace_rating '${rating}': use normal, warning or incident.`);
  }
  const tracker = one(query, 'tracker_name');
  const service = one(query, 'service_type');
  const traceId = one(query, 'trace_id');
  const eventId = traceId === undefined ? undefined : eventIdOfTrace(traceId);
  const none =
    traceType === 'data' ||
    (rating !== undefined && rating !== 'normal') ||
    (tracker !== undefined && tracker !== 'system') ||
    (service !== undefined && service !== service.toUpperCase()) ||
    (traceId !== undefined && eventId === undefined);
  if (none) return { filter: undefined, limit };
  const fields: Record<string, unknown> = {
    projectId,
    service: service?.toLowerCase(),
    userName: one(query, 'user'),
    resourceId: one(query, 'resource_id'),
    resourceType: one(query, 'resource_type'),
    resourceName: one(query, 'resource_name'),
    operation: one(query, 'trace_name'),
    requestId: one(query, 'request_id'),
    accessKey: one(query, 'access_key_id'),
    enterpriseProjectId: one(query, 'enterprise_project_id'),
    eventId,
    before,
    from,
    to,
  };
  for (const [k, v] of Object.entries(fields)) if (v === undefined) delete fields[k];
  return { filter: fields as unknown as TraceFilter, limit };
}

/** Cloud Trace Service v3 ListTraces over the change log, in CTS's envelope. */
export function registerCtsRoutes(app: FastifyInstance, deps: CtsRouteDeps): void {
  app.route({
    method: CTS_ROUTE.method,
    url: CTS_ROUTE.path,
    config: { errors: serviceRenderer(cts) },
    schema: {
      operationId: CTS_ROUTE.operationId,
      summary: "List the project's tag changes as Cloud Trace Service management traces",
      description:
        'CTS v3 ListTraces: one trace per changed resource, newest first, trace_name the operationId of the route that made the change. Paging: pass meta_data.marker as next. An IAM user needs cts:trace:list.',
      tags: [cts.title],
      security: [{ token: [] }, { aksk: [] }],
      params: Type.Object({ project_id: Type.String() }),
      querystring: QuerySchema,
      response: {
        200: ResponseSchema,
        400: flatErrorSchema('CTS.0003: a query parameter is missing or invalid.'),
        401: gatewayErrorSchema(401),
        403: flatErrorSchema('CTS.0002: not allowed; CTS.0012: invalid project ID.'),
        500: flatErrorSchema(`${cts.internalError.code}: unexpected failure.`),
        502: gatewayErrorSchema(502),
        504: gatewayErrorSchema(504),
      },
    },
    handler: async (request) => {
      const projectId = (request.params as { project_id: string }).project_id;
      const principal = await deps.authenticator.authenticate(signable(request), projectId);
      request.principal = principal;
      const denial = await deps.authenticator.projectAccessDenial(principal, projectId);
      if (denial) throw new AppError(`scope_${denial.scope}`, denial.message);
      const { filter, limit } = readTraceQuery(projectId, request.query as Record<string, unknown>);
      if (!filter) {
        deps.authorizer.authorize({ principal, profile: cts, permission: cts.permission });
        return { traces: [], meta_data: { count: 0, marker: null } };
      }
      const page = await listTraces(deps.store, deps.authorizer, principal, filter, limit);
      return { traces: page.traces, meta_data: { count: page.traces.length, marker: page.marker } };
    },
  });
}
