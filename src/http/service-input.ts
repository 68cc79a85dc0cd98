import { type TObject, type TSchema, type TString, Type } from 'typebox';
import { AppError } from '../core/app-error.js';
import {
  PROJECT_OPERATIONS,
  type RouteDef,
  type ServiceProfile,
  type TagRules,
} from '../services/profile.js';
import { checkText, describeRule } from '../tags/text-rule.js';
import { compileServiceQueryBody } from './query-body-schemas.js';
import {
  keyFault,
  placeOf,
  tagFault,
  tagInput,
  tagList,
  tagListReader,
  valueText,
} from './tag-body-schemas.js';
import {
  type CompiledSchema,
  compileProperties,
  compileSchema,
  type Describe,
  matching,
  refined,
  type SchemaFailure,
  validatedAs,
} from './validation.js';

/*
 * The input of each service route (path, query, body), from one schema per part: the schema is
 * the route's OpenAPI document of the part, and, compiled once when the route is registered, the
 * check the route reads the part with. Each fault is an AppError of the kind the service's error
 * table maps to its code. Parts are read by the route at the step where the service checks them
 * (the body after the caller is admitted, a path key after the body), not all up front.
 */

const actionOf = <A extends string, B extends string>(
  names: readonly [A, B],
  description: string,
) => Type.Union([Type.Literal(names[0]), Type.Literal(names[1])], { description });

/** The `action` of a batch or switch body: exactly one of two words, lowercase. */
function actionFault(f: SchemaFailure, names: readonly [string, string]): AppError {
  const choice = `'${names[0]}' or '${names[1]}'`;
  return new AppError(
    'action_invalid',
    f.value === undefined
      ? `The 'action' field is required: ${choice}.`
      : `Invalid action ${JSON.stringify(f.value)}: use ${choice} (lowercase).`,
  );
}

const invalid = (f: SchemaFailure) =>
  new AppError('invalid_parameter', `${placeOf(f.path)} is not valid.`);

const CREATE_DELETE = ['create', 'delete'] as const;

/** The bodies of one service's operations, compiled once per profile. */
function compileBodies(profile: ServiceProfile) {
  const c = profile.create.rules;
  const d = profile.delete.rules;
  const required = c.valueRequired ? 'required' : 'optional';
  const describe =
    (rules: TagRules): Describe =>
    (f) =>
      tagFault(f, rules) ?? invalid(f);
  const byAction: Describe = (f) =>
    f.path[0] === 'action' ? actionFault(f, CREATE_DELETE) : invalid(f);
  const nullAction = { nullAsAbsent: ['action'] };
  const value = valueText(c, `Tag value: ${describeRule(c.value)}`);
  const tags = tagListReader(c, d);
  return {
    /** `{"tags":[…]}` under the create rules, and under the delete rules. */
    create: tags.create,
    delete: tags.delete,
    /** The action first: the caller must be allowed it before its tags are read. */
    batch: compileProperties(
      Type.Object({
        action: actionOf(
          CREATE_DELETE,
          `'create' adds tags (${describeRule(c.key)} for keys); 'delete' removes them by key, or by key and value. Case-sensitive.`,
        ),
        tags: tagList(c, 'optional'),
      }),
      ['action'],
      { describe: byAction, ...nullAction },
    ),
    setOne: compileSchema(Type.Object({ value: c.valueRequired ? value : Type.Optional(value) }), {
      describe: describe(c),
    }),
    addOne: compileSchema(Type.Object({ tag: tagInput(c, required) }), { describe: describe(c) }),
    switch: compileSchema(
      Type.Object({
        action: actionOf(
          CREATE_DELETE,
          "'create' turns it on, 'delete' turns it off. Case-sensitive.",
        ),
      }),
      { describe: byAction, ...nullAction },
    ),
    query: profile.query ? compileServiceQueryBody(profile) : undefined,
    /** The tags of a batch, under the rules of its action. */
    tags,
  };
}

export type ServiceBodies = ReturnType<typeof compileBodies>;

const bodiesByProfile = new WeakMap<ServiceProfile, ServiceBodies>();

/** The bodies of a service's operations, compiled on first use. */
export function serviceBodies(profile: ServiceProfile): ServiceBodies {
  let bodies = bodiesByProfile.get(profile);
  if (!bodies) {
    bodies = compileBodies(profile);
    bodiesByProfile.set(profile, bodies);
  }
  return bodies;
}

function bodyOf(profile: ServiceProfile, route: RouteDef): CompiledSchema | undefined {
  const b = serviceBodies(profile);
  switch (route.kind) {
    case 'create':
      return b.create;
    case 'delete':
      return b.delete;
    case 'batch-action':
      return b.batch;
    case 'set-one':
      return b.setOne;
    case 'add-one':
      return b.addOne;
    case 'switch':
      return b.switch;
    case 'query':
      return b.query;
    default:
      return undefined;
  }
}

/** A boolean query parameter: `true` or `false` in any case, or empty, standing for absent. */
function booleanQuery(description: string): TSchema {
  return Type.Optional(
    validatedAs(Type.Boolean({ description }), matching(Type.String(), /^(true|false)?$/i)),
  );
}

const describeFlag: Describe = (f) =>
  new AppError(
    'invalid_parameter',
    `Invalid ${String(f.path[0])} ${JSON.stringify(f.value)}: use true or false (once).`,
  );

/** The route's boolean query parameters (the MRS quota's). */
function flagsOf(route: RouteDef) {
  if (!route.query) return undefined;
  const props: Record<string, TSchema> = {};
  for (const [name, q] of Object.entries(route.query)) props[name] = booleanQuery(q.description);
  return compileSchema(Type.Object(props), { describe: describeFlag });
}

/** A count in a query: documented as an integer, read by the route as a count (`readCount`). */
const count = (documented: TSchema) => Type.Optional(validatedAs(documented, Type.Unknown()));

/** The paging of a service's project tags, where it pages. */
function pagingOf(profile: ServiceProfile, route: RouteDef) {
  const paging = profile.projectTags?.paging;
  if (route.kind !== 'project-tags' || !paging) return undefined;
  return compileSchema(
    Type.Object({
      offset: count(Type.Integer({ minimum: 0, description: 'Keys to skip, ≥ 0 (default 0).' })),
      limit: count(
        Type.Integer({
          minimum: 1,
          maximum: paging.maxLimit,
          description: `Keys per page, 1–${paging.maxLimit} (default ${paging.defaultLimit}).`,
        }),
      ),
    }),
    { describe: invalid },
  );
}

/** The path's parameters; a tag key in the path is read later, under the operation's rules. */
function paramsOf(profile: ServiceProfile, route: RouteDef) {
  const props: Record<string, TString> = {
    project_id: Type.String({ description: 'Project ID.' }),
  };
  for (const [name, value] of Object.entries(profile.fixedParams ?? {})) {
    props[name] = Type.String({ description: `Must be '${value}'.` });
  }
  if (!PROJECT_OPERATIONS.includes(route.kind)) {
    props[profile.resourceParam] = Type.String({ description: `${profile.resourceNoun} ID.` });
  }
  const rules = route.kind === 'delete-one' ? profile.delete.rules : profile.create.rules;
  const key = route.path.endsWith('/:key')
    ? refined(
        Type.String({ description: 'Tag key.' }),
        (k: string) => checkText(k, rules.key) === undefined,
      )
    : undefined;
  const schema: TObject<Record<string, TString>> = Type.Object({ ...props, ...(key && { key }) });
  return {
    params: compileProperties(schema, Object.keys(props), { describe: invalid }),
    key: key && compileSchema(key, { describe: (f) => keyFault(f, rules, 'The tag key') }),
  };
}

/** What a service route reads, compiled once when it is registered. */
export function serviceRouteInput(profile: ServiceProfile, route: RouteDef) {
  const { params, key } = paramsOf(profile, route);
  const flags = flagsOf(route);
  const paging = pagingOf(profile, route);
  return {
    params,
    /** The tag key in the path (set-one, delete-one). */
    key,
    flags,
    paging,
    /** The documented query and body. */
    query: flags ?? paging,
    body: bodyOf(profile, route),
  };
}

export type RouteInput = ReturnType<typeof serviceRouteInput>;
