import { type TSchema, Type } from 'typebox';
import type { ErrorRow, RouteDef, ServiceProfile } from '../services/profile.js';
import { MAX_CONDITION_KEYS, MAX_CONDITION_VALUES } from '../tags/tag-query.js';
import { GATEWAY_ERRORS } from './gateway-errors.js';
import type { RouteInput } from './service-input.js';

/**
 * The answers of the service routes, generated from the profiles: success shapes, and error
 * answers with the codes of each service's table and the gateway's. A route's input schemas are
 * in service-input.ts.
 */

export const TagSchema = Type.Object({
  key: Type.String(),
  value: Type.String(),
});

const KeyValuesSchema = Type.Object({
  key: Type.String(),
  values: Type.Array(Type.String(), { description: 'Distinct values, ascending.' }),
});

export function flatErrorSchema(description: string): TSchema {
  return Type.Object({ error_code: Type.String(), error_msg: Type.String() }, { description });
}

export function nestedErrorSchema(description: string): TSchema {
  return Type.Object(
    { error: Type.Object({ code: Type.String(), message: Type.String() }) },
    { description },
  );
}

/** Gateway answers every route may give, by status (see gateway-errors.ts). */
function gatewayStatusDescriptions(): Map<number, string> {
  const byStatus = new Map<number, string[]>();
  for (const e of Object.values(GATEWAY_ERRORS)) {
    byStatus.set(e.status, [...(byStatus.get(e.status) ?? []), `${e.code} ${e.message}`]);
  }
  return new Map([...byStatus].map(([status, lines]) => [status, lines.join('; ')]));
}

const GATEWAY_STATUS = gatewayStatusDescriptions();

export const GatewayErrorSchema = Type.Object(
  { error_code: Type.String(), error_msg: Type.String(), request_id: Type.String() },
  {
    description: `Gateway envelope: ${[...GATEWAY_STATUS].map(([status, text]) => `${status} ${text}`).join('; ')}`,
  },
);

/** The gateway envelope for one status, described with that status's gateway codes. */
export function gatewayErrorSchema(status: number): TSchema {
  return Type.Object(
    { error_code: Type.String(), error_msg: Type.String(), request_id: Type.String() },
    { description: `Gateway envelope: ${GATEWAY_STATUS.get(status) ?? 'gateway error'}` },
  );
}

/** Statuses the gateway answers on every service route, whatever the service. */
const GATEWAY_ROUTE_STATUSES = [401, 413, 502, 504] as const;

/**
 * The error rows a route documents: its service's, or, for a route with codes of its own, those
 * and the service's refusals (401/403) it shares.
 */
function documentedRows(profile: ServiceProfile, route: RouteDef): readonly ErrorRow[] {
  if (!route.errors) return profile.errors;
  return [
    ...route.errors.errors,
    ...profile.errors.filter((r) => r.status === 401 || r.status === 403),
  ];
}

function errorResponses(profile: ServiceProfile, route: RouteDef): Record<number, TSchema> {
  const envelope = route.errors?.envelope ?? profile.envelope;
  const byStatus = new Map<number, ErrorRow[]>();
  for (const row of documentedRows(profile, route)) {
    const list = byStatus.get(row.status) ?? [];
    list.push(row);
    byStatus.set(row.status, list);
  }
  const out: Record<number, TSchema> = {};
  for (const [status, rows] of byStatus) {
    let description = rows.map((r) => `${r.code}: ${r.when}`).join(' ');
    if (route.errors && status === 400) {
      description += ` A caller acting outside its project or domain is refused as on the other ${profile.title} routes.`;
    }
    out[status] =
      envelope === 'flat' ? flatErrorSchema(description) : nestedErrorSchema(description);
  }
  for (const status of GATEWAY_ROUTE_STATUSES) {
    const gateway = gatewayErrorSchema(status) as TSchema & { description: string };
    const own = out[status] as (TSchema & { description: string }) | undefined;
    // A status both the service and the gateway answer (MRS 401): either envelope, the
    // gateway's first so that a body with a request_id keeps it when serialised.
    out[status] = own
      ? Type.Union([gateway, own], {
          description: `${own.description} ${gateway.description}`,
        })
      : gateway;
  }
  const internal = `${profile.internalError.code}: unexpected failure${profile.internalError.message ? ` ("${profile.internalError.message}")` : ''}.`;
  out[500] = envelope === 'flat' ? flatErrorSchema(internal) : nestedErrorSchema(internal);
  return out;
}

function success(profile: ServiceProfile, route: RouteDef): Record<number, TSchema> {
  if (route.kind === 'project-tags') {
    const paging: Record<string, TSchema> = profile.projectTags?.paging
      ? {
          offset: Type.Integer(),
          limit: Type.Integer(),
          total_count: Type.Integer({ description: 'Number of distinct keys.' }),
        }
      : {};
    return {
      200: Type.Object(
        { tags: Type.Array(KeyValuesSchema), ...paging },
        { description: 'Each key once, keys ascending.' },
      ),
    };
  }
  if (route.kind === 'query') {
    const detail =
      profile.query?.resourceDetail === null
        ? Type.Null()
        : Type.String({ description: `Always '${profile.query?.resourceDetail}'.` });
    const marker: Record<string, TSchema> = profile.query?.marker
      ? {
          marker: Type.Optional(
            Type.String({ description: 'Index position of the next page (offset + resources).' }),
          ),
        }
      : {};
    return {
      200: Type.Object(
        {
          resources: Type.Optional(
            Type.Array(
              Type.Object({
                resource_id: Type.String(),
                resource_detail: detail,
                tags: Type.Array(TagSchema, { description: 'Every tag of the resource.' }),
                resource_name: Type.String(),
              }),
              { description: 'Newest registration first, ties by resource ID. Filter only.' },
            ),
          ),
          total_count: Type.Integer({ description: 'Every match, not just this page.' }),
          ...marker,
        },
        { description: 'Filter: `resources` and `total_count`; count: `total_count` only.' },
      ),
    };
  }
  if (route.kind === 'quota') {
    return {
      200: Type.Object({
        total_quota: Type.Integer({
          description: `How many tags a ${profile.resourceNoun} may have: ${profile.maxTags}.`,
        }),
        available_quota: Type.Integer({
          description: `How many more it can take: ${profile.maxTags} less its tags.`,
        }),
      }),
    };
  }
  if (route.kind === 'switch-status' && route.switch) {
    return {
      200: Type.Object({
        status: Type.Literal('succeed', {
          description:
            'The state of the last switch (processing, succeed or failed in the real service); tagplane applies a switch before answering, so always succeed.',
        }),
        [route.switch.field]: Type.Boolean({
          description: 'On (true) or off (false, until switched on).',
        }),
      }),
    };
  }
  if (route.kind === 'list') {
    const extras: Record<string, TSchema> = {};
    for (const name of Object.keys(profile.listExtras ?? {})) extras[name] = Type.Array(TagSchema);
    return { 200: Type.Object({ tags: Type.Array(TagSchema), ...extras }) };
  }
  switch (route.success) {
    case 'tags':
      return {
        200: Type.Object({ tags: Type.Array(TagSchema) }, { description: 'The tags written.' }),
      };
    case 'no-content':
      return { 204: Type.Null({ description: 'No content.' }) };
    case 'accepted':
      return { 202: Type.Null({ description: 'Accepted, no body.' }) };
    default:
      return { 200: Type.Null({ description: 'Empty body.' }) };
  }
}

function description(profile: ServiceProfile, route: RouteDef): string {
  if (route.kind === 'quota') {
    return `${profile.title}. total_quota is the ${profile.maxTags}-tag limit of a ${profile.resourceNoun}; available_quota is how many more tags it can take now.`;
  }
  if (route.kind === 'switch-status' || route.kind === 'switch') {
    return `${profile.title}. A per-${profile.resourceNoun} setting kept with the ${profile.resourceNoun}, off until switched on; switching it changes no tag, and switching it to the state it is in succeeds. It goes when the ${profile.resourceNoun} is deregistered.`;
  }
  if (route.kind === 'project-tags') {
    return `${profile.title}. Every tag key of the project's ${profile.resourceNoun}s once, keys and values ascending in code-point order, values de-duplicated.`;
  }
  if (route.kind === 'query') {
    return `${profile.title}. The four tag lists combine with AND. Limits: at most ${MAX_CONDITION_KEYS} keys per list, ${MAX_CONDITION_VALUES} values per key, keys unique within a list; a violation, or limit/offset out of range, is a 400 with the service's invalid-parameter code.`;
  }
  const lines = [
    `${profile.title}. At most ${profile.maxTags} tags per ${profile.resourceNoun}, counted after the merge.`,
  ];
  if (route.kind === 'create' || route.kind === 'batch-action') {
    lines.push(
      profile.create.onExisting === 'overwrite'
        ? 'An existing key takes the new value.'
        : 'A key that already exists is an error.',
    );
  }
  if (route.kind === 'delete' || route.kind === 'batch-action') {
    lines.push(
      profile.delete.onAbsent === 'ignore'
        ? 'Deleting a tag that is not there succeeds.'
        : 'Deleting a tag that is not there is an error.',
    );
  }
  if (profile.bodyContentTypes) {
    lines.push(`Content-Type must be one of: ${profile.bodyContentTypes.join(', ')}.`);
  }
  return lines.join(' ');
}

/** A route's schema: its input's (validated, typed and documented from one definition), its answers. */
export function serviceRouteSchema(profile: ServiceProfile, route: RouteDef, input: RouteInput) {
  const b = input.body?.schema;
  const qs = input.query?.schema;
  return {
    operationId: route.operationId,
    summary: route.summary,
    description: description(profile, route),
    tags: [profile.title],
    params: input.params.schema,
    ...(b ? { body: b } : {}),
    ...(qs ? { querystring: qs } : {}),
    response: { ...success(profile, route), ...errorResponses(profile, route) },
    security: [{ token: [] as string[] }, { aksk: [] as string[] }] as Record<string, string[]>[],
  };
}
