import { type TSchema, Type } from 'typebox';
import { AppError } from '../core/app-error.js';
import type { ServiceProfile } from '../services/profile.js';
import {
  conditionKeyProblem,
  conditionPredicates,
  conditionValueProblem,
  MAX_CONDITION_KEY_LENGTH,
  MAX_CONDITION_KEYS,
  MAX_CONDITION_VALUE_LENGTH,
  MAX_CONDITION_VALUES,
  matchValueProblem,
  QUERY_MAX_LIMIT,
  type QueryErrorKinds,
  SERVICE_QUERY_KINDS,
} from '../tags/tag-query.js';
import { placeOf } from './tag-body-schemas.js';
import {
  type CompiledSchema,
  checkedInCode,
  compileSchema,
  refined,
  type SchemaFailure,
} from './validation.js';

/*
 * The tag conditions of queries (`resource_instances/action` of AS and MRS, the cross-service
 * filter) and the services' query body: documented, typed and checked from these schemas, each
 * fault named with the kinds of the API that reads it. What no schema says (keys unique within a
 * list, values within a key, `*` only as the start of a substring) is checked as the bodies'
 * rules by tags/tag-query.ts; limit and offset are read there too, only when a page is asked for.
 */

/** A tag condition of a query: a key and the values it may have. */
export const TagConditionSchema = Type.Object({
  key: refined(
    Type.String({
      minLength: 1,
      maxLength: MAX_CONDITION_KEY_LENGTH,
      description: `Tag key, 1–${MAX_CONDITION_KEY_LENGTH} characters (not checked against the tag rules). Keys are unique within a list.`,
    }),
    (key: string) => conditionKeyProblem(key) === undefined,
  ),
  values: Type.Optional(
    Type.Array(
      refined(
        Type.String({ maxLength: MAX_CONDITION_VALUE_LENGTH }),
        (v: string) => conditionValueProblem(v) === undefined,
      ),
      {
        maxItems: MAX_CONDITION_VALUES,
        description: `At most ${MAX_CONDITION_VALUES} distinct values, any of which matches; empty, null or absent means any value. A value starting with '*' matches values containing the rest of it ('*' alone is invalid). Values are compared case-sensitively.`,
      },
    ),
  ),
});

export function conditionList(description: string) {
  return Type.Optional(
    Type.Array(TagConditionSchema, {
      maxItems: MAX_CONDITION_KEYS,
      description: `${description} At most ${MAX_CONDITION_KEYS} keys.`,
    }),
  );
}

const CONDITION_LISTS = ['tags', 'tags_any', 'not_tags', 'not_tags_any'] as const;

/**
 * The fault of a condition list (`path[0]` names it), with the caller's kinds; undefined when the
 * fault is elsewhere.
 */
export function conditionFault(f: SchemaFailure, kinds: QueryErrorKinds): AppError | undefined {
  const [field, index, part, j] = f.path;
  if (!CONDITION_LISTS.some((list) => list === field)) return undefined;
  const item = `${field}[${String(index)}]`;
  if (f.path.length === 1) {
    if (f.keyword === 'maxItems' && Array.isArray(f.value)) {
      return new AppError(
        kinds.other,
        `'${field}' has ${f.value.length} keys; at most ${MAX_CONDITION_KEYS} are allowed.`,
      );
    }
    return new AppError(kinds.other, `'${field}' must be an array of {"key","values"} objects.`);
  }
  if (f.path.length === 2) {
    return new AppError(kinds.other, `${item} must be an object with 'key' and 'values'.`);
  }
  if (part === 'key') {
    if (f.keyword === 'required') return new AppError(kinds.key, `${item}.key is required.`);
    if (typeof f.value !== 'string') {
      return new AppError(kinds.key, `${item}.key must be a string.`);
    }
    return new AppError(kinds.key, `${item}.key ${conditionKeyProblem(f.value) ?? 'is invalid'}.`);
  }
  const values = `${item}.values`;
  if (f.path.length === 3) {
    if (f.keyword === 'maxItems' && Array.isArray(f.value)) {
      return new AppError(
        kinds.value,
        `${values} has ${f.value.length} values; at most ${MAX_CONDITION_VALUES} are allowed per key.`,
      );
    }
    return new AppError(kinds.value, `${values} must be an array of strings.`);
  }
  const at = `${values}[${String(j)}]`;
  if (typeof f.value !== 'string') return new AppError(kinds.value, `${at} must be a string.`);
  return new AppError(kinds.value, `${at} ${conditionValueProblem(f.value) ?? 'is invalid'}.`);
}

/** `limit`/`offset` travel as strings (AS) or integers (MRS); both are accepted. */
function countField(description: string): TSchema {
  return Type.Optional(
    checkedInCode(
      Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: '^[0-9]+$' })], {
        description,
      }),
    ),
  );
}

/** The body of a service's `resource_instances/action`. */
export function serviceQueryBody(profile: ServiceProfile) {
  const matchValueMax = profile.query?.matchValueMax ?? 0;
  const marker: Record<string, TSchema> = profile.query?.marker
    ? {
        marker: Type.Optional(
          checkedInCode(
            Type.String({
              description:
                'Index position to start from, as returned in `marker` by the previous page; used when `offset` is absent.',
            }),
          ),
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
    without_any_tag: Type.Optional(
      Type.Boolean({
        description: 'true: only resources without any tag; the four tag lists are then ignored.',
      }),
    ),
    matches: Type.Optional(
      Type.Array(
        Type.Object({
          key: Type.Literal('resource_name'),
          value: refined(
            Type.String({
              maxLength: matchValueMax,
              description:
                'Case-sensitive substring of the resource name; an empty value matches resources whose name is empty.',
            }),
            (v: string) => matchValueProblem(v, matchValueMax) === undefined,
          ),
        }),
        { maxItems: 1 },
      ),
    ),
    limit: countField(
      `Page size, 1–${QUERY_MAX_LIMIT} (default ${QUERY_MAX_LIMIT}). Ignored when counting.`,
    ),
    offset: countField('Index position to start from, ≥ 0 (default 0). Ignored when counting.'),
    ...marker,
  });
}

export type ServiceQueryBody = ReturnType<typeof serviceQueryBody>;

function matchesFault(f: SchemaFailure, matchValueMax: number): AppError {
  const [, index, part] = f.path;
  const where = `matches[${String(index)}]`;
  let message: string;
  if (f.path.length === 1) {
    message =
      f.keyword === 'maxItems'
        ? `'resource_name' appears more than once in 'matches'.`
        : `'matches' must be an array of {"key","value"} objects.`;
  } else if (f.path.length === 2) {
    message = `${where} must be an object with 'key' and 'value'.`;
  } else if (part === 'key') {
    message = `${where}.key must be 'resource_name' (got ${JSON.stringify(f.value ?? null)}).`;
  } else {
    const problem = typeof f.value === 'string' && matchValueProblem(f.value, matchValueMax);
    message = `${where}.value ${problem || 'must be a string without U+0000 or unpaired surrogates'}.`;
  }
  return new AppError('query_matches_invalid', message);
}

function describeServiceQuery(matchValueMax: number) {
  return (f: SchemaFailure): AppError => {
    const [field] = f.path;
    if (field === 'action') {
      return new AppError(
        'action_invalid',
        f.value === undefined
          ? "The 'action' field is required: 'filter' or 'count'."
          : `Invalid action ${JSON.stringify(f.value)}: use 'filter' or 'count' (lowercase).`,
      );
    }
    if (field === 'matches') return matchesFault(f, matchValueMax);
    if (field === 'without_any_tag') {
      return new AppError('query_invalid', `'without_any_tag' must be true or false.`);
    }
    return (
      conditionFault(f, SERVICE_QUERY_KINDS) ??
      new AppError('query_invalid', `${placeOf(f.path)} is not valid.`)
    );
  };
}

/**
 * The service's query body, compiled. Null stands for absent but in the page, where an `offset`
 * given as null still hides the `marker`.
 */
export function compileServiceQueryBody(
  profile: ServiceProfile,
  schema: ServiceQueryBody = serviceQueryBody(profile),
): CompiledSchema<ServiceQueryBody> {
  return compileSchema(schema, {
    describe: describeServiceQuery(profile.query?.matchValueMax ?? 0),
    nullAsAbsent: { everywhereBut: ['limit', 'offset', 'marker'] },
    rules: (body) => {
      for (const field of CONDITION_LISTS) {
        conditionPredicates(body[field], field, SERVICE_QUERY_KINDS);
      }
    },
  });
}
