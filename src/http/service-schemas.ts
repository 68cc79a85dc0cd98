import { type TSchema, Type } from 'typebox';
import {
  type ErrorRow,
  PROJECT_OPERATIONS,
  type RouteDef,
  type ServiceProfile,
  type TagRules,
} from '../services/profile.js';
import { MAX_TAGS_IN_REQUEST } from '../tags/tag-input.js';
import {
  MAX_CONDITION_KEY_LENGTH,
  MAX_CONDITION_KEYS,
  MAX_CONDITION_VALUE_LENGTH,
  MAX_CONDITION_VALUES,
  QUERY_MAX_LIMIT,
} from '../tags/tag-query.js';
import { describeRule } from '../tags/text-rule.js';
import { GATEWAY_ERRORS } from './gateway-errors.js';

/**
 * OpenAPI schemas of the service routes, generated from the profiles: the documented key and
 * value rules, limits and error codes are the ones the engine enforces.
 *
 * Bodies are not validated against these schemas; the engine validates them so that every
 * failure gets the exact code of its service (AS.7062 for an empty key, AS.7063 for a long one…),
 * which a generic JSON Schema validator cannot produce.
 */

export const TagSchema = Type.Object({
  key: Type.String(),
  value: Type.String(),
});

function tagInput(rules: TagRules, withValue: 'required' | 'optional'): TSchema {
  const value = Type.String({
    maxLength: rules.value.max,
    description: `Tag value: ${describeRule(rules.value)}${rules.valueRequired ? '' : ' Absent means "".'}`,
  });
  return Type.Object({
    key: Type.String({
      minLength: rules.key.min,
      maxLength: rules.key.max,
      description: `Tag key: ${describeRule(rules.key)}`,
    }),
    value: withValue === 'required' ? value : Type.Optional(value),
  });
}

function tagList(rules: TagRules, withValue: 'required' | 'optional'): TSchema {
  return Type.Array(tagInput(rules, withValue), { maxItems: MAX_TAGS_IN_REQUEST });
}

/** A tag condition of a query: a key and the values it may have. */
export const TagConditionSchema = Type.Object({
  key: Type.String({
    minLength: 1,
    maxLength: MAX_CONDITION_KEY_LENGTH,
    description: `Tag key, 1–${MAX_CONDITION_KEY_LENGTH} characters (not checked against the tag rules). Keys are unique within a list.`,
  }),
  values: Type.Array(Type.String({ maxLength: MAX_CONDITION_VALUE_LENGTH }), {
    maxItems: MAX_CONDITION_VALUES,
    description: `At most ${MAX_CONDITION_VALUES} distinct values, any of which matches; empty (or null) means any value. A value starting with '*' matches values containing the rest of it ('*' alone is invalid). Values are compared case-sensitively.`,
  }),
});

export function conditionList(description: string): TSchema {
  return Type.Optional(
    Type.Array(TagConditionSchema, {
      maxItems: MAX_CONDITION_KEYS,
      description: `${description} At most ${MAX_CONDITION_KEYS} keys.`,
    }),
  );
}

/** `limit`/`offset` travel as strings (AS) or integers (MRS); both are accepted. */
function countField(description: string): TSchema {
  return Type.Optional(
    Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: '^[0-9]+$' })], {
      description,
    }),
  );
}

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

function params(profile: ServiceProfile, route: RouteDef): TSchema {
  const props: Record<string, TSchema> = {
    project_id: Type.String({ description: 'Project ID.' }),
  };
  for (const [name, value] of Object.entries(profile.fixedParams ?? {})) {
    props[name] = Type.String({ description: `Must be '${value}'.` });
  }
  if (!PROJECT_OPERATIONS.includes(route.kind)) {
    props[profile.resourceParam] = Type.String({ description: `${profile.resourceNoun} ID.` });
  }
  if (route.path.endsWith('/:key')) props.key = Type.String({ description: 'Tag key.' });
  return Type.Object(props);
}

function body(profile: ServiceProfile, route: RouteDef): TSchema | undefined {
  const c = profile.create.rules;
  const d = profile.delete.rules;
  switch (route.kind) {
    case 'create':
      return Type.Object({ tags: tagList(c, c.valueRequired ? 'required' : 'optional') });
    case 'delete':
      return Type.Object({ tags: tagList(d, 'optional') });
    case 'batch-action':
      return Type.Object({
        action: Type.Union([Type.Literal('create'), Type.Literal('delete')], {
          description: `'create' adds tags (${describeRule(c.key)} for keys); 'delete' removes them by key, or by key and value. Case-sensitive.`,
        }),
        tags: tagList(c, 'optional'),
      });
    case 'set-one':
      return Type.Object({
        value: Type.Optional(Type.String({ description: `Tag value: ${describeRule(c.value)}` })),
      });
    case 'add-one':
      return Type.Object({ tag: tagInput(c, c.valueRequired ? 'required' : 'optional') });
    case 'switch':
      return Type.Object({
        action: Type.Union([Type.Literal('create'), Type.Literal('delete')], {
          description: "'create' turns it on, 'delete' turns it off. Case-sensitive.",
        }),
      });
    case 'query':
      return queryBody(profile);
    default:
      return undefined;
  }
}

function queryBody(profile: ServiceProfile): TSchema {
  const marker: Record<string, TSchema> = profile.query?.marker
    ? {
        marker: Type.Optional(
          Type.String({
            description:
              'Index position to start from, as returned in `marker` by the previous page; used when `offset` is absent.',
          }),
        ),
      }
    : {};
  return Type.Object({
    action: Type.Union([Type.Literal('filter'), Type.Literal('count')], {
      description:
        "'filter': one page of the matching resources and how many match; 'count': only how many match. Case-sensitive.",
    }),
    tags: conditionList('Resources having every listed key, each with one of its values.'),
    tags_any: conditionList('Resources matching at least one listed condition.'),
    not_tags: conditionList('Excludes resources matching every listed condition.'),
    not_tags_any: conditionList('Excludes resources matching any listed condition.'),
    matches: Type.Optional(
      Type.Array(
        Type.Object({
          key: Type.Literal('resource_name'),
          value: Type.String({
            maxLength: profile.query?.matchValueMax,
            description:
              'Case-sensitive substring of the resource name; an empty value matches resources whose name is empty.',
          }),
        }),
        { maxItems: 1 },
      ),
    ),
    without_any_tag: Type.Optional(
      Type.Boolean({
        description: 'true: only resources without any tag; the four tag lists are then ignored.',
      }),
    ),
    limit: countField(
      `Page size, 1–${QUERY_MAX_LIMIT} (default ${QUERY_MAX_LIMIT}). Ignored when counting.`,
    ),
    offset: countField('Index position to start from, ≥ 0 (default 0). Ignored when counting.'),
    ...marker,
  });
}

function querystring(profile: ServiceProfile, route: RouteDef): TSchema | undefined {
  if (route.query) {
    const props: Record<string, TSchema> = {};
    for (const [name, q] of Object.entries(route.query)) {
      props[name] = Type.Optional(Type.Boolean({ description: q.description }));
    }
    return Type.Object(props);
  }
  const paging = profile.projectTags?.paging;
  if (route.kind !== 'project-tags' || !paging) return undefined;
  return Type.Object({
    offset: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Keys to skip, ≥ 0 (default 0).' }),
    ),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: paging.maxLimit,
        description: `Keys per page, 1–${paging.maxLimit} (default ${paging.defaultLimit}).`,
      }),
    ),
  });
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

export function serviceRouteSchema(profile: ServiceProfile, route: RouteDef) {
  const b = body(profile, route);
  const qs = querystring(profile, route);
  return {
    operationId: route.operationId,
    summary: route.summary,
    description: description(profile, route),
    tags: [profile.title],
    params: params(profile, route),
    ...(b ? { body: b } : {}),
    ...(qs ? { querystring: qs } : {}),
    response: { ...success(profile, route), ...errorResponses(profile, route) },
    security: [{ token: [] as string[] }, { aksk: [] as string[] }] as Record<string, string[]>[],
  };
}
