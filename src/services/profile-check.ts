import type { AppErrorKind } from '../core/app-error.js';
import {
  type ErrorRow,
  type OperationKind,
  PROJECT_OPERATIONS,
  type RouteDef,
  routePermissionNames,
  type ServiceProfile,
  type TagRules,
  type TextRule,
} from './profile.js';

/**
 * A service profile that contradicts itself or another: the message names the profile and the
 * field. Thrown while the profiles load, so a broken profile stops the server at start-up rather
 * than failing the first request that reaches the broken part.
 */
export class ProfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProfileError';
  }
}

/** Operations that read nothing but the path: a `success` shape means nothing to them. */
const READ_OPERATIONS: readonly OperationKind[] = [
  'list',
  'project-tags',
  'query',
  'quota',
  'switch-status',
];

/** Operations whose request has a JSON body (and so meets the profile's Content-Type rule). */
const BODY_OPERATIONS: readonly OperationKind[] = [
  'create',
  'delete',
  'batch-action',
  'set-one',
  'add-one',
  'switch',
  'query',
];

/** Operations addressing one tag by the `:key` path parameter. */
const KEY_OPERATIONS: readonly OperationKind[] = ['set-one', 'delete-one'];

/**
 * Errors that are not parameter errors, so the first 400 row (which takes every kind no row
 * lists) must not answer them: every route can refuse its caller (scope, identity policy).
 */
const REFUSALS: readonly AppErrorKind[] = ['scope_project', 'scope_domain', 'forbidden'];

/**
 * The error kinds a route can raise that its catalogue must list: the refusals; a missing
 * resource on a route addressing one; an unsupported Content-Type where the profile restricts
 * it; a wrong fixed path parameter.
 */
function kindsToList(profile: ServiceProfile, route: RouteDef): AppErrorKind[] {
  const kinds = [...REFUSALS];
  if (!PROJECT_OPERATIONS.includes(route.kind)) kinds.push('resource_not_found');
  if (profile.bodyContentTypes && BODY_OPERATIONS.includes(route.kind)) kinds.push('media_type');
  if (profile.fixedParams) kinds.push('resource_type_invalid');
  return kinds;
}

/** Problems of one error table (a profile's, or a route's own), each naming its field. */
function checkErrorTable(rows: readonly ErrorRow[], field: string, out: string[]): void {
  if (!rows.some((r) => r.status === 400)) {
    out.push(`${field}: no 400 row (the first 400 row answers every parameter error)`);
  }
  const listedIn = new Map<AppErrorKind, number>();
  rows.forEach((row, i) => {
    const where = `${field}[${i}]`;
    if (row.code.trim() === '') out.push(`${where}.code is empty`);
    if (!Number.isInteger(row.status) || row.status < 400 || row.status > 599) {
      out.push(`${where}.status ${row.status} is not an error status`);
    }
    for (const kind of row.kinds) {
      const first = listedIn.get(kind);
      if (first !== undefined) {
        out.push(`${where}.kinds lists '${kind}', already in ${field}[${first}] (which wins)`);
      } else {
        listedIn.set(kind, i);
      }
    }
  });
}

function checkRule(rule: TextRule, field: string, out: string[]): void {
  if (!Number.isInteger(rule.min) || !Number.isInteger(rule.max) || rule.min < 0) {
    out.push(`${field}: min and max must be whole numbers, min ≥ 0`);
  } else if (rule.min > rule.max) {
    out.push(`${field}: min ${rule.min} is more than max ${rule.max}`);
  }
  if (rule.allowed && !rule.allowedText) out.push(`${field}.allowedText is missing`);
}

function checkRules(rules: TagRules, field: string, out: string[]): void {
  checkRule(rules.key, `${field}.key`, out);
  checkRule(rules.value, `${field}.value`, out);
  if (rules.key.min < 1) out.push(`${field}.key.min must be at least 1: a key is never empty`);
}

function checkRoute(profile: ServiceProfile, route: RouteDef, field: string, out: string[]) {
  const kind = route.kind;
  const params = new Set([...route.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1]));
  if (route.operationId.trim() === '') out.push(`${field}.operationId is empty`);
  if (!route.path.startsWith('/')) out.push(`${field}.path '${route.path}' does not start with /`);
  if (!params.has('project_id')) out.push(`${field}.path '${route.path}' has no :project_id`);
  const resourceParam = profile.resourceParam;
  if (!PROJECT_OPERATIONS.includes(kind) && !params.has(resourceParam)) {
    out.push(`${field}.path '${route.path}' has no :${resourceParam} (the resource parameter)`);
  }
  for (const name of Object.keys(profile.fixedParams ?? {})) {
    if (!params.has(name)) out.push(`${field}.path '${route.path}' has no :${name} (fixedParams)`);
  }
  if (KEY_OPERATIONS.includes(kind) && !route.path.endsWith('/:key')) {
    out.push(`${field}.path '${route.path}' must end in /:key for a ${kind} route`);
  }
  for (const name of routePermissionNames(route)) {
    if (!profile.permissions[name]) out.push(`${field}: a ${kind} route needs permissions.${name}`);
  }
  if (kind === 'query' && !profile.query) out.push(`${field}: a query route needs query settings`);
  if (kind === 'project-tags' && !profile.projectTags) {
    out.push(`${field}: a project-tags route needs projectTags settings`);
  }
  if ((kind === 'switch' || kind === 'switch-status') && !route.switch) {
    out.push(`${field}.switch is missing: a ${kind} route reads or writes a resource switch`);
  }
  if (route.switch && kind !== 'switch' && kind !== 'switch-status') {
    out.push(`${field}.switch is set on a ${kind} route, which has no switch`);
  }
  if (route.success !== undefined && READ_OPERATIONS.includes(kind)) {
    out.push(`${field}.success is set on a ${kind} route, which writes nothing`);
  }
  if (route.errors) {
    if (route.errors.id === profile.id) {
      out.push(`${field}.errors.id '${route.errors.id}' is the profile's own id`);
    }
    checkErrorTable(route.errors.errors, `${field}.errors.errors`, out);
  }
  const listed = new Set(
    [...(route.errors?.errors ?? []), ...profile.errors].flatMap((r) => r.kinds),
  );
  for (const k of kindsToList(profile, route)) {
    if (!listed.has(k)) {
      out.push(`${field}: no error row lists '${k}', which a ${kind} route can raise`);
    }
  }
}

/** Method and path with parameter names left out: the router tells no two such paths apart. */
function endpointOf(route: { readonly method: string; readonly path: string }): string {
  return `${route.method} ${route.path.replace(/:[A-Za-z_]+/g, ':')}`;
}

/** Every inconsistency of one profile, each naming the field; empty when there is none. */
export function profileProblems(profile: ServiceProfile): string[] {
  const out: string[] = [];
  if (!/^[a-z][a-z0-9_-]*$/.test(profile.id)) {
    out.push(`id '${profile.id}' is not lower case, digits, _ and -`);
  }
  if (!/^[a-z][a-z0-9_]*$/.test(profile.resourceType)) {
    out.push(`resourceType '${profile.resourceType}' is not lower case, digits and _`);
  }
  if (profile.title.trim() === '') out.push('title is empty');
  if (profile.resourceNoun.trim() === '') out.push('resourceNoun is empty');
  if (!/^[A-Za-z_]+$/.test(profile.resourceParam)) {
    out.push(`resourceParam '${profile.resourceParam}' is not a path parameter name`);
  }
  if (!Number.isInteger(profile.maxTags) || profile.maxTags < 1) {
    out.push(`maxTags ${profile.maxTags} is not a positive whole number`);
  }
  checkRules(profile.create.rules, 'create.rules', out);
  checkRules(profile.delete.rules, 'delete.rules', out);
  checkErrorTable(profile.errors, 'errors', out);
  if (profile.internalError.code.trim() === '') out.push('internalError.code is empty');
  if (profile.bodyContentTypes?.length === 0) out.push('bodyContentTypes is empty');
  // The cross-service API's batches add and remove tags on resources of every service, each
  // under its own service's permission; its reads return a resource only where the caller may
  // read its tags through its own service.
  for (const name of ['create', 'delete', 'list'] as const) {
    if (!profile.permissions[name]) {
      const why = name === 'list' ? 'reads of many resources' : 'the cross-service batches';
      out.push(`permissions.${name} is missing (${why} need it)`);
    }
  }
  for (const [name, perm] of Object.entries(profile.permissions)) {
    if (perm !== undefined && perm.action.trim() === '') {
      out.push(`permissions.${name}.action is empty`);
    }
  }
  const kinds = new Set(profile.routes.map((r) => r.kind));
  if (profile.routes.length === 0) out.push('routes is empty');
  if (profile.query) {
    if (!kinds.has('query')) out.push('query settings are set but no route has kind query');
    if (!Number.isInteger(profile.query.matchValueMax) || profile.query.matchValueMax < 0) {
      out.push(`query.matchValueMax ${profile.query.matchValueMax} is not a whole number ≥ 0`);
    }
  }
  if (profile.projectTags) {
    if (!kinds.has('project-tags')) {
      out.push('projectTags settings are set but no route has kind project-tags');
    }
    const paging = profile.projectTags.paging;
    if (paging && !(paging.defaultLimit >= 1 && paging.defaultLimit <= paging.maxLimit)) {
      out.push('projectTags.paging: defaultLimit must be between 1 and maxLimit');
    }
  }
  if (profile.demoResource.name.trim() === '') out.push('demoResource.name is empty');
  const ids = new Map<string, number>();
  const endpoints = new Map<string, number>();
  profile.routes.forEach((route, i) => {
    const field = `routes[${i}] (${route.operationId})`;
    checkRoute(profile, route, field, out);
    const same = ids.get(route.operationId);
    if (same !== undefined) out.push(`${field}.operationId is also routes[${same}]'s`);
    ids.set(route.operationId, i);
    const endpoint = endpointOf(route);
    const twin = endpoints.get(endpoint);
    if (twin !== undefined) {
      out.push(`${field}: ${route.method} ${route.path} is also routes[${twin}]'s endpoint`);
    }
    endpoints.set(endpoint, i);
  });
  return out;
}

/** Throws a ProfileError listing every problem of the profile. */
export function checkProfile(profile: ServiceProfile): void {
  const problems = profileProblems(profile);
  if (problems.length > 0) {
    throw new ProfileError(
      `Service profile '${profile.id}' is inconsistent:\n${problems.map((p) => `  - ${profile.id}.${p}`).join('\n')}`,
    );
  }
}

/**
 * A service profile, checked as it is defined: the module defining a broken profile fails to
 * load. `Type` keeps the literal resource type, from which the registry derives `ResourceType`.
 */
export function defineService<const Type extends string>(
  profile: ServiceProfile<Type>,
): ServiceProfile<Type> {
  checkProfile(profile);
  return profile;
}

/** Another API served beside the services (the cross-service API): its id and its routes. */
export interface OtherApi {
  readonly id: string;
  readonly routes: readonly {
    readonly method: string;
    readonly path: string;
    readonly operationId: string;
  }[];
}

/**
 * Checks each profile (again: one written without defineService is checked too), and the
 * profiles against each other and against the other APIs: ids, resource types, operationIds and
 * endpoints are each used once.
 */
export function checkRegistry<const P extends readonly ServiceProfile[]>(
  profiles: P,
  others: readonly OtherApi[] = [],
): P {
  const problems: string[] = [];
  const once = (what: string, seen: Map<string, string>, value: string, owner: string) => {
    const first = seen.get(value);
    if (first !== undefined) problems.push(`${owner}: ${what} is also ${first}'s`);
    else seen.set(value, owner);
  };
  const ids = new Map<string, string>();
  const types = new Map<string, string>();
  const operations = new Map<string, string>();
  const endpoints = new Map<string, string>();
  for (const api of others) {
    ids.set(api.id, `the API '${api.id}'`);
    for (const r of api.routes) {
      operations.set(r.operationId, `${api.id}'s route ${r.operationId}`);
      endpoints.set(endpointOf(r), `${api.id}'s route ${r.operationId}`);
    }
  }
  for (const p of profiles) {
    for (const problem of profileProblems(p)) problems.push(`${p.id}.${problem}`);
    once(`id '${p.id}'`, ids, p.id, `service profile '${p.id}'`);
    once(`resourceType '${p.resourceType}'`, types, p.resourceType, `${p.id}.resourceType`);
    p.routes.forEach((r, i) => {
      const owner = `${p.id}.routes[${i}]`;
      once(`operationId '${r.operationId}'`, operations, r.operationId, owner);
      once(`endpoint ${r.method} ${r.path}`, endpoints, endpointOf(r), owner);
    });
  }
  if (profiles.length === 0) problems.push('the registry lists no service profile');
  if (problems.length > 0) {
    throw new ProfileError(
      `Service registry is inconsistent:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
  return profiles;
}
