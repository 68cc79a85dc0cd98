import { type TSchema, Type } from 'typebox';
import { AppError } from '../core/app-error.js';
import { ID_PATTERN, identifierProblem, RESOURCE_ID_PATTERN } from '../core/ids.js';
import { RESOURCE_TYPES } from '../services/registry.js';
import { tms } from '../services/tms.js';
import { MAX_TAGS_IN_REQUEST } from '../tags/tag-input.js';
import {
  conditionKeyProblem,
  conditionPredicates,
  MAX_CONDITION_KEY_LENGTH,
  type QueryErrorKinds,
} from '../tags/tag-query.js';
import { conditionFault, conditionList } from './query-body-schemas.js';
import { flatErrorSchema, gatewayErrorSchema, TagSchema } from './service-schemas.js';
import { placeOf, tagArrayFault } from './tag-body-schemas.js';
import {
  checkedInCode,
  compileProperties,
  compileSchema,
  matching,
  refined,
  type SchemaFailure,
  validatedAs,
} from './validation.js';

/*
 * The cross-service API's (`/v1.0`) wire formats: request schemas (documented, typed and checked
 * from one definition, each fault with its TMS kind) and answers. A body is checked in the steps
 * the API takes: the project first (the caller must be allowed in it), then the rest. A batch's
 * tags are checked here as a list only: each resource's own service checks them under its rules.
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

const invalid = (message: string) => new AppError('invalid_parameter', message);

/** A project id: required, and an id. */
const ProjectId = (description?: string) =>
  matching(Type.String(description ? { description } : {}), ID_PATTERN);

function projectFault(f: SchemaFailure): AppError {
  if (f.keyword === 'required' || f.value === '') return invalid("'project_id' is required.");
  return invalid("'project_id' must be 1–64 characters from A-Z a-z 0-9 _ -.");
}

const ResourceType = Type.Union(RESOURCE_TYPES.map((t) => Type.Literal(t)));

function resourceTypeFault(f: SchemaFailure): AppError {
  return new AppError(
    'resource_type_invalid',
    `${placeOf(f.path)} ${JSON.stringify(f.value ?? null)} is not a resource type; use one of ${RESOURCE_TYPES.join(', ')}.`,
  );
}

/** The body of `batch-create` and `batch-delete`. */
function batchBody(action: 'create' | 'delete') {
  return Type.Object({
    project_id: ProjectId('Project of every resource.'),
    resources: Type.Array(
      Type.Object({
        resource_type: ResourceType,
        resource_id: refined(
          Type.String(),
          (id: string) => RESOURCE_ID_PATTERN.test(id) && identifierProblem(id) === undefined,
        ),
      }),
      { minItems: 1, maxItems: tms.maxBatchResources },
    ),
    tags: Type.Array(checkedInCode(TagInput), {
      minItems: 1,
      maxItems: MAX_TAGS_IN_REQUEST,
      description:
        action === 'create'
          ? "Tags to add to every resource, under each resource's service rules (key and value rules, tag limit, overwrite or refuse an existing key)."
          : 'Tags to remove from every resource: by key, or by key and value when a value is given.',
    }),
  });
}

function describeBatch(f: SchemaFailure): AppError {
  const [field, index, part] = f.path;
  if (field === 'project_id') return projectFault(f);
  if (field === 'resources') {
    const where = `resources[${String(index)}]`;
    if (f.path.length === 1) {
      return f.keyword === 'maxItems' && Array.isArray(f.value)
        ? invalid(
            `'resources' has ${f.value.length} items; at most ${tms.maxBatchResources} are accepted in one call.`,
          )
        : invalid('\'resources\' must be a non-empty array of {"resource_id","resource_type"}.');
    }
    if (f.path.length === 2) {
      return invalid(`${where} must be an object with 'resource_id' and 'resource_type'.`);
    }
    if (part === 'resource_type') return resourceTypeFault(f);
    return invalid(
      `${where}.resource_id must be a string of 1–128 characters without '/', control characters or invalid UTF-8.`,
    );
  }
  if (field === 'tags' && f.keyword === 'minItems') {
    return invalid("'tags' must name at least one tag.");
  }
  return tagArrayFault(f) ?? invalid(`${placeOf(f.path)} is not valid.`);
}

/** The rule of a batch's resources: each named once. */
function uniqueResources(body: {
  readonly resources: readonly { readonly resource_type: string; readonly resource_id: string }[];
}): void {
  const seen = new Set<string>();
  body.resources.forEach((r, i) => {
    const ref = `${r.resource_type}\u0000${r.resource_id}`;
    if (seen.has(ref)) {
      throw invalid(`resources[${i}] names ${r.resource_type} '${r.resource_id}' a second time.`);
    }
    seen.add(ref);
  });
}

/**
 * The batch body, checked in its steps: the project, then the resources, then the tags (as a
 * list: each resource's service checks its items).
 */
export function compileBatchBody(action: 'create' | 'delete') {
  const schema = batchBody(action);
  const options = { describe: describeBatch, nullAsAbsent: ['project_id', 'resources'] };
  return {
    project: compileProperties(schema, ['project_id'], options),
    resources: compileProperties(schema, ['project_id', 'resources'], {
      ...options,
      rules: uniqueResources,
    }),
    all: compileSchema(schema, options),
  };
}

/** `resource-tags/batch-create` and `batch-delete`: the 200 answer. */
export function batchAnswer(): TSchema {
  return Type.Object(
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
  );
}

/** A count: documented as an integer; read by the route as a count, a number or digits. */
const count = (documented: TSchema) => Type.Optional(validatedAs(documented, Type.Unknown()));

export const FILTER_KINDS: QueryErrorKinds = {
  key: 'key_invalid',
  value: 'value_invalid',
  other: 'invalid_parameter',
};

const filterBody = () =>
  Type.Object({
    project_id: ProjectId(),
    resource_types: Type.Optional(Type.Array(ResourceType, { minItems: 1 })),
    tags: conditionList(
      'Resources having every listed key, each with one of its values. Bad keys: TMS.0009; bad values: TMS.0010.',
    ),
    without_any_tag: Type.Optional(
      Type.Boolean({
        description: 'true: only resources without any tag; `tags` is ignored.',
      }),
    ),
    offset: count(Type.Integer({ minimum: 0, description: 'Default 0.' })),
    limit: count(
      Type.Integer({
        minimum: 1,
        maximum: tms.filterLimit.max,
        description: `Default ${tms.filterLimit.fallback}.`,
      }),
    ),
  });

function describeFilter(f: SchemaFailure): AppError {
  const [field] = f.path;
  if (field === 'project_id') return projectFault(f);
  if (field === 'resource_types') {
    return f.path.length === 1
      ? invalid("'resource_types' must be a non-empty array of resource types.")
      : resourceTypeFault(f);
  }
  if (field === 'without_any_tag') return invalid("'without_any_tag' must be true or false.");
  return conditionFault(f, FILTER_KINDS) ?? invalid(`${placeOf(f.path)} is not valid.`);
}

/**
 * The filter body, checked in its steps: the project, then the rest, whose conditions name each
 * key once and each value once per key.
 */
export function compileFilterBody() {
  const schema = filterBody();
  const options = { describe: describeFilter, nullAsAbsent: 'everywhere' as const };
  return {
    project: compileProperties(schema, ['project_id'], options),
    all: compileSchema(schema, {
      ...options,
      rules: (body) => {
        conditionPredicates(body.tags, 'tags', FILTER_KINDS);
      },
    }),
  };
}

/** `resource-instances/filter`: the 200 answer. */
export function filterAnswer(): TSchema {
  return Type.Object({
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
  });
}

/** A query parameter given once: a list, when it is repeated, is refused. */
const once = (description?: string) => Type.String(description ? { description } : {});

const listingQuery = (which: 'keys' | 'values') =>
  Type.Object({
    project_id: ProjectId(),
    limit: Type.Optional(
      validatedAs(
        Type.Integer({
          minimum: 1,
          maximum: tms.listLimit.max,
          description: `Default ${tms.listLimit.fallback}.`,
        }),
        once(),
      ),
    ),
    marker: Type.Optional(once('`page_info.next_marker` of the previous page.')),
    ...(which === 'values'
      ? {
          key: refined(
            Type.String({ minLength: 1, maxLength: MAX_CONDITION_KEY_LENGTH }),
            (k: string) => conditionKeyProblem(k) === undefined,
          ),
        }
      : {}),
  });

function describeListing(f: SchemaFailure): AppError {
  const [field] = f.path;
  if (Array.isArray(f.value)) return invalid(`'${String(field)}' may be given once.`);
  if (field === 'project_id') return projectFault(f);
  if (field === 'key') {
    const problem = typeof f.value === 'string' && f.value !== '' && conditionKeyProblem(f.value);
    return new AppError(
      'key_invalid',
      problem
        ? `'key' ${problem.replace(/ \(got \d+\)$/, '')}.`
        : "The 'key' query parameter is required.",
    );
  }
  return invalid(`'${String(field)}' is not valid.`);
}

/**
 * The listings' query, checked in its steps: the project as given (once), for the
 * authenticator; the project; the page; then the key.
 */
export function compileListingQuery(which: 'keys' | 'values') {
  const schema = listingQuery(which);
  const options = { describe: describeListing };
  return {
    projectHint: compileSchema(Type.Object({ project_id: Type.Optional(once()) }), options),
    project: compileProperties(schema, ['project_id'], options),
    page: compileProperties(schema, ['project_id', 'limit', 'marker'], options),
    all: compileSchema(schema, options),
  };
}

const pageInfo = Type.Object({
  next_marker: Type.Union([Type.String(), Type.Null()], {
    description: 'Marker of the next page; null on the last page.',
  }),
  current_count: Type.Integer(),
});

/** The tag key and value listings: the 200 answer. */
export function listingAnswer(which: 'keys' | 'values'): TSchema {
  return Type.Object({ [which]: Type.Array(Type.String()), page_info: pageInfo });
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

/** `tms/providers`: the query, compiled. */
export const providersQuery = compileSchema(
  Type.Object({ provider: Type.Optional(once('Only this service.')) }),
  { describe: () => invalid("'provider' is invalid.") },
);

/** `tms/providers`: the 200 answer. */
export const PROVIDERS_ANSWER = Type.Object({
  providers: Type.Array(provider),
  total_count: Type.Integer(),
});
