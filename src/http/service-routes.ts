import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator } from '../auth/authenticator.js';
import { AppError } from '../core/app-error.js';
import type { Principal } from '../core/principal.js';
import type { Tag } from '../core/tag.js';
import { routeCatalogue } from '../services/error-table.js';
import {
  type ResourceSwitch,
  type RouteDef,
  routePermissionNames,
  type ServiceProfile,
  type SuccessShape,
} from '../services/profile.js';
import type { TagEngine } from '../tags/tag-engine.js';
import {
  checkKey,
  checkValue,
  type JsonObject,
  parseJsonObject,
  readSingleTag,
  readTagArray,
  readTagsToCreate,
  readTagsToDelete,
} from '../tags/tag-input.js';
import { readCount, readServiceQuery } from '../tags/tag-query.js';
import { serviceRenderer } from './envelopes.js';
import { serviceRouteSchema } from './service-schemas.js';
import { signable } from './signable.js';

export interface ServiceRouteDeps {
  readonly engine: TagEngine;
  readonly authenticator: Authenticator;
}

type Params = Record<string, string>;

/** What a route handler has established before it runs its operation. */
export interface RouteCall {
  readonly principal: Principal;
  readonly projectId: string;
  readonly resourceId: string;
  readonly params: Params;
  readonly request: FastifyRequest;
}

function normaliseMediaType(v: string): string {
  return v.toLowerCase().replace(/\s+/g, '');
}

/** The body as a JSON object, after the profile's Content-Type rule. */
function jsonBody(profile: ServiceProfile, request: FastifyRequest): JsonObject {
  if (profile.bodyContentTypes) {
    const given = request.headers['content-type'];
    const accepted = profile.bodyContentTypes.map(normaliseMediaType);
    if (given === undefined || !accepted.includes(normaliseMediaType(given))) {
      throw new AppError(
        'media_type',
        `Unsupported Content-Type '${given ?? ''}': use ${profile.bodyContentTypes.join(' or ')}.`,
      );
    }
  }
  return parseJsonObject(request.body as Buffer | undefined);
}

function sendWritten(reply: FastifyReply, shape: SuccessShape | undefined, tags: Tag[]) {
  switch (shape) {
    case 'tags':
      return reply.code(200).send({ tags });
    case 'no-content':
      return reply.code(204).send();
    case 'accepted':
      return reply.code(202).send();
    default:
      return reply.code(200).send();
  }
}

/** The `action` field of a batch body: exactly `create` or `delete`. */
function readAction(body: JsonObject): 'create' | 'delete' {
  const action = body.action;
  if (action === 'create' || action === 'delete') return action;
  if (action === undefined || action === null) {
    throw new AppError('action_invalid', "The 'action' field is required: 'create' or 'delete'.");
  }
  throw new AppError(
    'action_invalid',
    `Invalid action ${JSON.stringify(action)}: use 'create' or 'delete' (lowercase).`,
  );
}

/**
 * The query parameters the route declares, checked: a boolean is `true` or `false` (in any
 * case), or empty, which stands for absent. Undeclared parameters are ignored.
 */
function checkQuery(route: RouteDef, request: FastifyRequest): void {
  const query = request.query as Record<string, unknown>;
  for (const name of Object.keys(route.query ?? {})) {
    const v = query[name];
    if (v === undefined || v === '') continue;
    if (typeof v !== 'string' || !/^(true|false)$/i.test(v)) {
      throw new AppError(
        'invalid_parameter',
        `Invalid ${name} ${JSON.stringify(v)}: use true or false (once).`,
      );
    }
  }
}

function switchOf(profile: ServiceProfile, route: RouteDef): ResourceSwitch {
  if (!route.switch) {
    throw new Error(`route ${route.operationId} of ${profile.id} names no resource switch`);
  }
  return route.switch;
}

/** Runs one route's operation; every service route goes through here. */
async function runOperation(
  deps: ServiceRouteDeps,
  profile: ServiceProfile,
  route: RouteDef,
  call: RouteCall,
  reply: FastifyReply,
) {
  const { engine } = deps;
  const ref = { projectId: call.projectId, resourceId: call.resourceId };
  const p = call.principal;
  checkQuery(route, call.request);
  switch (route.kind) {
    case 'create': {
      const body = jsonBody(profile, call.request);
      const tags = readTagsToCreate(readTagArray(body), profile.create.rules);
      return sendWritten(reply, route.success, await engine.create(p, profile, ref, tags));
    }
    case 'delete': {
      const body = jsonBody(profile, call.request);
      const selectors = readTagsToDelete(readTagArray(body), profile.delete.rules);
      return sendWritten(reply, route.success, await engine.delete(p, profile, ref, selectors));
    }
    case 'batch-action': {
      const body = jsonBody(profile, call.request);
      const action = readAction(body);
      engine.precheck(p, profile, [action]);
      const items = readTagArray(body);
      const written =
        action === 'create'
          ? await engine.create(p, profile, ref, readTagsToCreate(items, profile.create.rules))
          : await engine.delete(p, profile, ref, readTagsToDelete(items, profile.delete.rules));
      return sendWritten(reply, route.success, written);
    }
    case 'set-one': {
      const body = jsonBody(profile, call.request);
      const rules = profile.create.rules;
      const key = checkKey(call.params.key, rules, 'The tag key');
      const value = checkValue(body.value, Object.hasOwn(body, 'value'), rules, 'value') ?? '';
      const written = await engine.create(p, profile, ref, [{ key, value }]);
      return sendWritten(reply, route.success, written);
    }
    case 'add-one': {
      const body = jsonBody(profile, call.request);
      const tag = readSingleTag(body, 'tag', profile.create.rules);
      return sendWritten(reply, route.success, await engine.create(p, profile, ref, [tag]));
    }
    case 'delete-one': {
      const key = checkKey(call.params.key, profile.delete.rules, 'The tag key');
      const deleted = await engine.delete(p, profile, ref, [{ key }], { onAbsent: 'reject' });
      return sendWritten(reply, route.success, deleted);
    }
    case 'list': {
      const tags = await engine.list(p, profile, ref);
      return reply.code(200).send({ tags, ...profile.listExtras });
    }
    case 'project-tags': {
      const paging = profile.projectTags?.paging;
      if (!paging) {
        const { tags } = await engine.projectTags(p, profile, call.projectId);
        return reply.code(200).send({ tags });
      }
      const query = call.request.query as Record<string, unknown>;
      const offset = readCount(
        query.offset,
        'offset',
        { min: 0, max: Number.MAX_SAFE_INTEGER, fallback: 0 },
        'invalid_parameter',
      );
      const limit = readCount(
        query.limit,
        'limit',
        { min: 1, max: paging.maxLimit, fallback: paging.defaultLimit },
        'invalid_parameter',
      );
      const { tags, total } = await engine.projectTags(p, profile, call.projectId, {
        offset,
        limit,
      });
      return reply.code(200).send({ tags, offset, limit, total_count: total });
    }
    case 'query': {
      const settings = profile.query;
      if (!settings)
        throw new Error(`profile ${profile.id} has a query route but no query settings`);
      const body = jsonBody(profile, call.request);
      const q = readServiceQuery(body, {
        matchValueMax: settings.matchValueMax,
        markerAsOffset: settings.marker,
      });
      const { total, resources } = await engine.query(p, profile, call.projectId, q);
      if (q.action === 'count') return reply.code(200).send({ total_count: total });
      const found = resources ?? [];
      return reply.code(200).send({
        resources: found.map((r) => ({
          resource_id: r.resourceId,
          resource_detail: settings.resourceDetail,
          tags: r.tags,
          resource_name: r.name,
        })),
        total_count: total,
        ...(settings.marker ? { marker: String(q.offset + found.length) } : {}),
      });
    }
    case 'quota': {
      const { total, available } = await engine.quota(p, profile, ref);
      return reply.code(200).send({ total_quota: total, available_quota: available });
    }
    case 'switch-status': {
      const setting = switchOf(profile, route);
      const on = await engine.switchState(p, profile, ref, setting);
      // The status of the last switch: tagplane applies a switch before answering it, so it
      // has always succeeded.
      return reply.code(200).send({ status: 'succeed', [setting.field]: on });
    }
    case 'switch': {
      const setting = switchOf(profile, route);
      const action = readAction(jsonBody(profile, call.request));
      await engine.setSwitch(p, profile, ref, setting, action === 'create');
      return sendWritten(reply, route.success, []);
    }
    default:
      throw new Error(`operation ${route.kind} is not served by the tag routes`);
  }
}

/** The identity-policy actions a route's operation needs, as a refusal names them. */
function routeActions(profile: ServiceProfile, route: RouteDef | undefined): string | undefined {
  if (!route) return undefined;
  const actions = routePermissionNames(route)
    .map((n) => profile.permissions[n]?.action)
    .filter((a) => a !== undefined);
  return actions.length > 0 ? actions.join(' or ') : undefined;
}

/**
 * Authenticates the caller, checks it may act in the path's project and the path's fixed
 * parameters: the steps every service route shares, in this order. `route` names the operation
 * in a scope refusal.
 */
export async function admitServiceCall(
  authenticator: Authenticator,
  profile: ServiceProfile,
  request: FastifyRequest,
  route?: RouteDef,
): Promise<RouteCall> {
  const params = request.params as Params;
  const projectId = params.project_id ?? '';
  const principal = await authenticator.authenticate(signable(request), projectId);
  request.principal = principal;
  const denial = await authenticator.projectAccessDenial(principal, projectId);
  if (denial) {
    const action = routeActions(profile, route);
    throw new AppError(`scope_${denial.scope}`, denial.message, action ? { action } : {});
  }
  for (const [name, expected] of Object.entries(profile.fixedParams ?? {})) {
    if (params[name] !== expected) {
      throw new AppError(
        'resource_type_invalid',
        `Invalid ${name} '${params[name]}': it must be '${expected}'.`,
      );
    }
  }
  return {
    principal,
    projectId,
    resourceId: params[profile.resourceParam] ?? '',
    params,
    request,
  };
}

export function registerServiceRoutes(
  app: FastifyInstance,
  profiles: readonly ServiceProfile[],
  deps: ServiceRouteDeps,
): void {
  for (const profile of profiles) {
    for (const route of profile.routes) {
      const errors = serviceRenderer(routeCatalogue(profile, route));
      app.route({
        method: route.method,
        url: route.path,
        schema: serviceRouteSchema(profile, route),
        config: { errors, service: profile.id, resourceParam: profile.resourceParam },
        handler: async (request, reply) => {
          const call = await admitServiceCall(deps.authenticator, profile, request, route);
          deps.engine.precheck(call.principal, profile, routePermissionNames(route));
          return runOperation(deps, profile, route, call, reply);
        },
      });
    }
  }
}
