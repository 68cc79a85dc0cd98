import { type TSchema, Type } from 'typebox';
import { RESOURCE_TYPES } from '../services/registry.js';
import { tms } from '../services/tms.js';
import { MAX_CONDITION_KEY_LENGTH } from '../tags/tag-query.js';
import {
  conditionList,
  flatErrorSchema,
  gatewayErrorSchema,
  TagSchema,
} from './service-schemas.js';

/*
 * OpenAPI schemas of the cross-service API (`/v1.0`). As for the service routes, bodies are not
 * validated against them: the routes read them so that each failure gets its TMS code.
 */

/** The error answers of every cross-service route, by status. */
export const TMS_ERROR_RESPONSES = {
  400: flatErrorSchema(
    tms.errors
      .filter((r) => r.status === 400)
      .map((r) => `${r.code}: ${r.when}`)
      .join(' '),
  ),
  401: gatewayErrorSchema(401),
  403: flatErrorSchema('TMS.2030: not allowed.'),
  404: flatErrorSchema('TMS.0005: the project does not exist.'),
  413: gatewayErrorSchema(413),
  500: flatErrorSchema(`${tms.internalError.code}: unexpected failure.`),
  502: gatewayErrorSchema(502),
  504: gatewayErrorSchema(504),
};

const TagInput = Type.Object({
  key: Type.String({ description: "Tag key, checked with the resource's own service rules." }),
  value: Type.Optional(
    Type.String({ description: "Tag value, checked with the resource's own service rules." }),
  ),
});

/** `resource-tags/batch-create` and `batch-delete`: the body and the 200 answer. */
export function batchSchema(action: 'create' | 'delete'): Record<string, TSchema> {
  return {
    body: Type.Object({
      project_id: Type.String({ description: 'Project of every resource.' }),
      resources: Type.Array(
        Type.Object({
          resource_id: Type.String(),
          resource_type: Type.Union(RESOURCE_TYPES.map((t) => Type.Literal(t))),
        }),
        { minItems: 1, maxItems: tms.maxBatchResources },
      ),
      tags: Type.Array(TagInput, {
        minItems: 1,
        description:
          action === 'create'
            ? "Tags to add to every resource, under each resource's service rules (key and value rules, tag limit, overwrite or refuse an existing key)."
            : 'Tags to remove from every resource: by key, or by key and value when a value is given.',
      }),
    }),
    200: Type.Object(
      {
        failed_resources: Type.Array(
          Type.Object({
            resource_id: Type.String(),
            resource_type: Type.String(),
            error_code: Type.String({ description: "The resource's own service's error code." }),
            error_msg: Type.String(),
          }),
        ),
      },
      {
        description:
          'The resources not changed, each with why. Every other resource was changed; each resource changes completely or not at all.',
      },
    ),
  };
}

/** `resource-instances/filter`: the body and the 200 answer. */
export function filterSchema(): Record<'body' | 200, TSchema> {
  return {
    body: Type.Object({
      project_id: Type.String(),
      resource_types: Type.Optional(
        Type.Array(Type.Union(RESOURCE_TYPES.map((t) => Type.Literal(t))), { minItems: 1 }),
      ),
      tags: conditionList(
        'Resources having every listed key, each with one of its values. Bad keys: TMS.0009; bad values: TMS.0010.',
      ),
      without_any_tag: Type.Optional(
        Type.Boolean({
          description: 'true: only resources without any tag; `tags` is ignored.',
        }),
      ),
      offset: Type.Optional(Type.Integer({ minimum: 0, description: 'Default 0.' })),
      limit: Type.Optional(
        Type.Integer({
          minimum: 1,
          maximum: tms.filterLimit.max,
          description: `Default ${tms.filterLimit.fallback}.`,
        }),
      ),
    }),
    200: Type.Object({
      resources: Type.Array(
        Type.Object({
          project_id: Type.String(),
          resource_id: Type.String(),
          resource_name: Type.String(),
          resource_type: Type.String(),
          tags: Type.Array(TagSchema),
        }),
      ),
      total_count: Type.Integer({ description: 'Every match, not just this page.' }),
    }),
  };
}

const pageQuery = (extra: Record<string, TSchema>) =>
  Type.Object({
    project_id: Type.String(),
    ...extra,
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: tms.listLimit.max,
        description: `Default ${tms.listLimit.fallback}.`,
      }),
    ),
    marker: Type.Optional(
      Type.String({ description: '`page_info.next_marker` of the previous page.' }),
    ),
  });
const pageInfo = Type.Object({
  next_marker: Type.Union([Type.String(), Type.Null()], {
    description: 'Marker of the next page; null on the last page.',
  }),
  current_count: Type.Integer(),
});

/** The tag key and value listings: the query and the 200 answer. */
export function tagListingSchema(which: 'keys' | 'values'): Record<'querystring' | 200, TSchema> {
  return {
    querystring: pageQuery(
      which === 'values'
        ? { key: Type.String({ minLength: 1, maxLength: MAX_CONDITION_KEY_LENGTH }) }
        : {},
    ),
    200: Type.Object({ [which]: Type.Array(Type.String()), page_info: pageInfo }),
  };
}

const provider = Type.Object({
  provider: Type.String(),
  provider_i18n_display_name: Type.String(),
  resource_types: Type.Array(
    Type.Object({
      resource_type: Type.String(),
      resource_type_i18n_display_name: Type.String(),
      global: Type.Boolean(),
    }),
  ),
});

/** `tms/providers`: the query and the 200 answer. */
export const PROVIDERS_SCHEMA: Record<'querystring' | 200, TSchema> = {
  querystring: Type.Object({
    provider: Type.Optional(Type.String({ description: 'Only this service.' })),
  }),
  200: Type.Object({ providers: Type.Array(provider), total_count: Type.Integer() }),
};
