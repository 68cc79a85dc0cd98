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
import { parseJsonObject } from '../tags/tag-input.js';
import { readCount, serviceQuery } from '../tags/tag-query.js';
import { changeOrigin } from './change-origin.js';
import { serviceRenderer } from './envelopes.js';
import { type RouteInput, serviceBodies, serviceRouteInput } from './service-input.js';
import { serviceRouteSchema } from './service-schemas.js';
import { signable } from './signable.js';
import { tagsToCreate, tagsToDelete } from './tag-body-schemas.js';

export interface ServiceRouteDeps {
  readonly engine: TagEngine;
  readonly authenticator: Authenticator;
}

type Params = Readonly<Record<string, unknown>>;

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

/** The body's bytes as a JSON object, after the profile's Content-Type rule. */
function jsonBody(profile: ServiceProfile, request: FastifyRequest): unknown {
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
  return parseJsonObject(Buffer.isBuffer(request.body) ? request.body : undefined);
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

function switchOf(profile: ServiceProfile, route: RouteDef): ResourceSwitch {
  if (!route.switch) {
    throw new Error(`route ${route.operationId} of ${profile.id} names no resource switch`);
  }
  return route.switch;
}

/**
 * Runs one route's operation; every service route goes through here. Each part of the request is
 * read with the route's compiled schema at the step where the service checks it.
 */
async function runOperation(
  deps: ServiceRouteDeps,
  profile: ServiceProfile,
  route: RouteDef,
  input: RouteInput,
  call: RouteCall,
  reply: FastifyReply,
) {
  const { engine } = deps;
  const ref = { projectId: call.projectId, resourceId: call.resourceId };
  const p = call.principal;
  const o = changeOrigin(profile.id, route.operationId, call.request);
  const bodies = serviceBodies(profile);
  const body = () => jsonBody(profile, call.request);
  const pathKey = () => {
    if (!input.key) throw new Error(`route ${route.operationId} has no tag key in its path`);
    return input.key.read(call.params.key);
  };
  input.flags?.read(call.request.query);
  switch (route.kind) {
    case 'create': {
      const tags = tagsToCreate(bodies.create.read(body()).tags);
      return sendWritten(reply, route.success, await engine.create(p, o, profile, ref, tags));
    }
    case 'delete': {
      const selectors = tagsToDelete(bodies.delete.read(body()).tags);
      return sendWritten(reply, route.success, await engine.delete(p, o, profile, ref, selectors));
    }
    case 'batch-action': {
      const { action, tags } = bodies.batch.read(body());
      engine.precheck(p, profile, [action]);
      const items = bodies.tags[action].read(tags === undefined ? {} : { tags }).tags;
      const written =
        action === 'create'
          ? await engine.create(p, o, profile, ref, tagsToCreate(items))
          : await engine.delete(p, o, profile, ref, tagsToDelete(items));
      return sendWritten(reply, route.success, written);
    }
    case 'set-one': {
      const given = body();
      const key = pathKey();
      const { value = '' } = bodies.setOne.read(given);
      const written = await engine.create(p, o, profile, ref, [{ key, value }]);
      return sendWritten(reply, route.success, written);
    }
    case 'add-one': {
      const { tag } = bodies.addOne.read(body());
      return sendWritten(
        reply,
        route.success,
        await engine.create(p, o, profile, ref, tagsToCreate([tag])),
      );
    }
    case 'delete-one': {
      const key = pathKey();
      const deleted = await engine.delete(p, o, profile, ref, [{ key }], { onAbsent: 'reject' });
      return sendWritten(reply, route.success, deleted);
    }
    case 'list': {
      const tags = await engine.list(p, profile, ref);
      return reply.code(200).send({ tags, ...profile.listExtras });
    }
    case 'project-tags': {
      const paging = profile.projectTags?.paging;
      if (!paging || !input.paging) {
        const { tags } = await engine.projectTags(p, profile, call.projectId);
        return reply.code(200).send({ tags });
      }
      const query = input.paging.read(call.request.query);
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
      if (!settings || !bodies.query) {
        throw new Error(`profile ${profile.id} has a query route but no query settings`);
      }
      const q = serviceQuery(bodies.query.read(body()), {
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
      const { action } = bodies.switch.read(body());
      await engine.setSwitch(p, profile, ref, setting, action === 'create');
      return sendWritten(reply, route.success, []);
    }
    default:
      throw new Error(`operation ${route.kind} is not served by the tag routes`);
  }
}

/** The identity-policy actions a route's operation needs, as a refusal names them. */
function routeActions(profile: ServiceProfile, route: RouteDef): string | undefined {
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
async function admitServiceCall(
  authenticator: Authenticator,
  profile: ServiceProfile,
  route: RouteDef,
  input: RouteInput,
  request: FastifyRequest,
): Promise<RouteCall> {
  const params = input.params.read(request.params);
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
        `Invalid ${name} '${String(params[name])}': it must be '${expected}'.`,
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
      const input = serviceRouteInput(profile, route);
      app.route({
        method: route.method,
        url: route.path,
        schema: serviceRouteSchema(profile, route, input),
        config: { errors, service: profile.id, resourceParam: profile.resourceParam },
        handler: async (request, reply) => {
          const call = await admitServiceCall(deps.authenticator, profile, route, input, request);
          deps.engine.precheck(call.principal, profile, routePermissionNames(route));
          return runOperation(deps, profile, route, input, call, reply);
        },
      });
    }
  }
}
