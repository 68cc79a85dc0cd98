import type { RouteDef, ServiceProfile } from '../../src/services/profile.js';
import { PROFILES } from '../../src/services/registry.js';
import type { Tenant } from './harness.js';
import { type Refusals, SERVICE_SPECS, type ServiceId } from './service-spec.js';

/** A request as `inject` takes it. */
export interface RouteRequest {
  readonly method: RouteDef['method'];
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly payload?: string;
}

/** One tag route of one service, with a request that succeeds for a caller allowed to make it. */
export interface RouteCase {
  /** e.g. `bms ShowBaremetalServerTags (GET /v1/:project_id/…)` */
  readonly name: string;
  readonly profile: ServiceProfile;
  readonly route: RouteDef;
  readonly hasBody: boolean;
  /** The status of a successful call. */
  readonly successStatus: number;
  /** How the service refuses a caller, as SPEC gives it (test/support/service-spec.ts). */
  readonly refusals: Refusals;
  /** Registers a resource the valid request succeeds on; returns its id. */
  prepare(t: Tenant): Promise<string>;
  /** A valid request on `resourceId` in `projectId`. */
  request(projectId: string, resourceId: string): RouteRequest;
}

/** Every resource starts with this tag: delete operations remove it, create operations add `k1`. */
const INITIAL = { key: 'k0', value: 'v0' };
const NEW = { key: 'k1', value: 'v1' };

function bodyFor(route: RouteDef): string | undefined {
  switch (route.kind) {
    case 'create':
      return JSON.stringify({ tags: [NEW] });
    case 'delete':
      return JSON.stringify({ tags: [INITIAL] });
    case 'batch-action':
      return JSON.stringify({ action: 'create', tags: [NEW] });
    case 'set-one':
      return JSON.stringify({ value: NEW.value });
    case 'add-one':
      return JSON.stringify({ tag: NEW });
    case 'delete-one':
    case 'list':
      return undefined;
    default:
      throw new Error(`no valid request known for operation kind ${route.kind}`);
  }
}

function pathFor(
  profile: ServiceProfile,
  route: RouteDef,
  projectId: string,
  resourceId: string,
): string {
  const values: Record<string, string> = {
    project_id: projectId,
    [profile.resourceParam]: resourceId,
    ...profile.fixedParams,
    key: route.kind === 'delete-one' ? INITIAL.key : NEW.key,
  };
  return route.path.replace(/:([A-Za-z_]+)/g, (_, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`no value for path parameter ${name} of ${route.path}`);
    return encodeURIComponent(v);
  });
}

function successStatus(route: RouteDef): number {
  if (route.kind === 'list') return 200;
  return route.success === 'no-content' ? 204 : 200;
}

/** The tag routes that are served (operations not yet built are left out). */
const SERVED = new Set<RouteDef['kind']>([
  'create',
  'delete',
  'batch-action',
  'set-one',
  'add-one',
  'delete-one',
  'list',
]);

/** Every tag route of every profile, written once from the profiles. */
export const ROUTES: readonly RouteCase[] = PROFILES.flatMap((profile) =>
  profile.routes
    .filter((route) => SERVED.has(route.kind))
    .map((route): RouteCase => {
      const body = bodyFor(route);
      return {
        name: `${profile.id} ${route.operationId} (${route.method} ${route.path})`,
        profile,
        route,
        hasBody: body !== undefined,
        successStatus: successStatus(route),
        refusals: SERVICE_SPECS[profile.id as ServiceId].refusals,
        prepare: (t) => t.resource(profile.resourceType, [INITIAL]),
        request(projectId, resourceId) {
          const url = pathFor(profile, route, projectId, resourceId);
          if (body === undefined) return { method: route.method, url, headers: {} };
          const headers = { 'content-type': 'application/json' };
          return { method: route.method, url, headers, payload: body };
        },
      };
    }),
);
