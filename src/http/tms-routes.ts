import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Authenticator } from '../auth/authenticator.js';
import { AppError } from '../core/app-error.js';
import { ID_PATTERN, identifierProblem, RESOURCE_ID_PATTERN } from '../core/ids.js';
import type { Principal } from '../core/principal.js';
import { isResourceType, RESOURCE_TYPES, type ResourceType } from '../services/registry.js';
import { type CrossServiceOperation, TMS_ROUTES, tms } from '../services/tms.js';
import type { Store } from '../store/database.js';
import type { BatchTarget, CrossServiceTags } from '../tags/cross-service.js';
import { requireProject } from '../tags/projects.js';
import { type JsonObject, parseJsonObject, readTagArray } from '../tags/tag-input.js';
import {
  MAX_CONDITION_KEY_LENGTH,
  readBoolean,
  readConditions,
  readCount,
  unstorable,
} from '../tags/tag-query.js';
import { codePointLength } from '../tags/text-rule.js';
import { serviceRenderer } from './envelopes.js';
import { signable } from './signable.js';
import {
  batchSchema,
  filterSchema,
  PROVIDERS_SCHEMA,
  TMS_ERROR_RESPONSES,
  tagListingSchema,
} from './tms-schemas.js';

export interface TmsRouteDeps {
  readonly store: Store;
  readonly cross: CrossServiceTags;
  readonly authenticator: Authenticator;
}

const FILTER_KINDS = {
  key: 'key_invalid',
  value: 'value_invalid',
  other: 'invalid_parameter',
} as const;

function invalid(message: string): AppError {
  return new AppError('invalid_parameter', message);
}

function readProjectId(raw: unknown): string {
  if (raw === undefined || raw === null || raw === '') throw invalid("'project_id' is required.");
  if (typeof raw !== 'string' || !ID_PATTERN.test(raw)) {
    throw invalid("'project_id' must be 1–64 characters from A-Z a-z 0-9 _ -.");
  }
  return raw;
}

function readType(raw: unknown, where: string): ResourceType {
  if (!isResourceType(raw)) {
    throw new AppError(
      'resource_type_invalid',
      `${where} ${JSON.stringify(raw ?? null)} is not a resource type; use one of ${RESOURCE_TYPES.join(', ')}.`,
    );
  }
  return raw;
}

function readTargets(body: JsonObject, max: number): BatchTarget[] {
  const list = body.resources;
  if (!Array.isArray(list) || list.length === 0) {
    throw invalid('\'resources\' must be a non-empty array of {"resource_id","resource_type"}.');
  }
  if (list.length > max) {
    throw invalid(`'resources' has ${list.length} items; at most ${max} are accepted in one call.`);
  }
  const seen = new Set<string>();
  return list.map((item, i) => {
    const where = `resources[${i}]`;
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      throw invalid(`${where} must be an object with 'resource_id' and 'resource_type'.`);
    }
    const r = item as JsonObject;
    const type = readType(r.resource_type, `${where}.resource_type`);
    const id = r.resource_id;
    if (typeof id !== 'string' || !RESOURCE_ID_PATTERN.test(id) || identifierProblem(id)) {
      throw invalid(
        `${where}.resource_id must be a string of 1–128 characters without '/', control characters or invalid UTF-8.`,
      );
    }
    const ref = `${type}\u0000${id}`;
    if (seen.has(ref)) throw invalid(`${where} names ${type} '${id}' a second time.`);
    seen.add(ref);
    return { resourceId: id, type };
  });
}

function readTypes(body: JsonObject): ResourceType[] {
  const list = body.resource_types;
  if (list === undefined || list === null) return [...RESOURCE_TYPES];
  if (!Array.isArray(list) || list.length === 0) {
    throw invalid("'resource_types' must be a non-empty array of resource types.");
  }
  return [...new Set(list.map((t, i) => readType(t, `resource_types[${i}]`)))];
}

/** A page marker: the last item of the previous page, opaque to the client. */
function encodeMarker(last: string): string {
  return Buffer.from(last, 'utf8').toString('base64url');
}

function decodeMarker(raw: unknown): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw === 'string' && /^[A-Za-z0-9_-]+$/.test(raw)) {
    const decoded = Buffer.from(raw, 'base64url').toString('utf8');
    if (encodeMarker(decoded) === raw && !unstorable(decoded)) return decoded;
  }
  throw invalid("'marker' is not a marker this API returned.");
}

function queryString(request: FastifyRequest, name: string): unknown {
  const v = (request.query as Record<string, unknown>)[name];
  if (Array.isArray(v)) throw invalid(`'${name}' may be given once.`);
  return v;
}

/** The cross-service API (`/v1.0`, TMS-style) in its own error envelope. */
export function registerTmsRoutes(app: FastifyInstance, deps: TmsRouteDeps): void {
  const { store, cross, authenticator } = deps;
  const config = { errors: serviceRenderer(tms), service: tms.id };
  const tags = [tms.title];
  const security: Record<string, string[]>[] = [{ token: [] }, { aksk: [] }];
  const route = (op: CrossServiceOperation) => {
    const r = TMS_ROUTES.find((x) => x.op === op)!;
    return { url: r.path, method: r.method, operationId: r.operationId };
  };

  const authenticate = async (request: FastifyRequest, projectId?: string) => {
    const principal = await authenticator.authenticate(signable(request), projectId);
    request.principal = principal;
    return principal;
  };

  /**
   * Project-scoped tokens act in their project; domain tokens and signatures in their domain. A
   * signed request's X-Project-Id, when sent, must be the project it acts in (else 401).
   */
  const admitProject = async (request: FastifyRequest, principal: Principal, projectId: string) => {
    authenticator.requireProjectHeader(signable(request), principal, projectId);
    const denial = await authenticator.projectAccessDenial(principal, projectId, true);
    if (denial) throw new AppError(`scope_${denial.scope}`, denial.message);
    await requireProject(store.db, projectId);
  };

  for (const action of ['create', 'delete'] as const) {
    const { url, method, operationId } = route(action === 'create' ? 'batchCreate' : 'batchDelete');
    const { body, 200: ok } = batchSchema(action);
    app.route({
      url,
      method,
      config,
      schema: {
        operationId,
        summary:
          action === 'create'
            ? 'Add tags to up to 50 resources of any types'
            : 'Remove tags from up to 50 resources of any types',
        description: `Each resource is handled with its own service's rules, limits, permission (the service's ${action} action, besides ${tms.permissions[action === 'create' ? 'batchCreate' : 'batchDelete'].action}) and error codes; the failures are listed in failed_resources and the rest are applied.`,
        tags,
        security,
        body,
        response: { 200: ok, ...TMS_ERROR_RESPONSES },
      },
      handler: async (request, reply) => {
        const principal = await authenticate(request);
        const input = parseJsonObject(request.body as Buffer | undefined);
        const projectId = readProjectId(input.project_id);
        await admitProject(request, principal, projectId);
        const targets = readTargets(input, tms.maxBatchResources);
        const items = readTagArray(input);
        if (items.length === 0) throw invalid("'tags' must name at least one tag.");
        const failed = await cross.batch(principal, action, projectId, targets, items);
        return reply.code(200).send({ failed_resources: failed });
      },
    });
  }

  {
    const { url, method, operationId } = route('filter');
    const filter = filterSchema();
    app.route({
      url,
      method,
      config,
      schema: {
        operationId,
        summary: 'Find resources of several types by tag',
        description:
          'Resources of the listed types (all five when absent) having every listed tag condition, newest registration first.',
        tags,
        security,
        body: filter.body,
        response: { 200: filter[200], ...TMS_ERROR_RESPONSES },
      },
      handler: async (request, reply) => {
        const principal = await authenticate(request);
        const input = parseJsonObject(request.body as Buffer | undefined);
        const projectId = readProjectId(input.project_id);
        await admitProject(request, principal, projectId);
        const types = readTypes(input);
        const all = readConditions(input, 'tags', FILTER_KINDS);
        const untagged = readBoolean(input, 'without_any_tag', 'invalid_parameter');
        const offset = readCount(
          input.offset,
          'offset',
          { min: 0, max: Number.MAX_SAFE_INTEGER, fallback: 0 },
          'invalid_parameter',
        );
        const limit = readCount(
          input.limit,
          'limit',
          { min: 1, ...tms.filterLimit },
          'invalid_parameter',
        );
        const { total, resources } = await cross.filter(
          principal,
          projectId,
          types,
          { all, untagged },
          { offset, limit },
        );
        return reply.code(200).send({
          resources: resources.map((r) => ({
            project_id: projectId,
            resource_id: r.resourceId,
            resource_name: r.name,
            resource_type: r.type,
            tags: r.tags,
          })),
          total_count: total,
        });
      },
    });
  }

  for (const which of ['keys', 'values'] as const) {
    const { url, method, operationId } = route(which === 'keys' ? 'tagKeys' : 'tagValues');
    const listing = tagListingSchema(which);
    app.route({
      url,
      method,
      config,
      schema: {
        operationId,
        summary:
          which === 'keys'
            ? 'List the distinct tag keys of a project'
            : 'List the distinct values of one tag key in a project',
        description: 'Over every resource type; ascending in code-point order, a page at a time.',
        tags,
        security,
        querystring: listing.querystring,
        response: { 200: listing[200], ...TMS_ERROR_RESPONSES },
      },
      handler: async (request, reply) => {
        const rawProject = queryString(request, 'project_id');
        const principal = await authenticate(
          request,
          typeof rawProject === 'string' ? rawProject : undefined,
        );
        const projectId = readProjectId(rawProject);
        await admitProject(request, principal, projectId);
        const limit = readCount(
          queryString(request, 'limit'),
          'limit',
          { min: 1, ...tms.listLimit },
          'invalid_parameter',
        );
        const after = decodeMarker(queryString(request, 'marker'));
        let page: { items: string[]; more: boolean };
        if (which === 'keys') {
          page = await cross.tagKeys(principal, projectId, after, limit);
        } else {
          const key = queryString(request, 'key');
          if (typeof key !== 'string' || key === '') {
            throw new AppError('key_invalid', "The 'key' query parameter is required.");
          }
          if (unstorable(key)) {
            throw new AppError(
              'key_invalid',
              "'key' contains U+0000 or an unpaired surrogate, which no tag can hold.",
            );
          }
          if (codePointLength(key) > MAX_CONDITION_KEY_LENGTH) {
            throw new AppError(
              'key_invalid',
              `'key' must be at most ${MAX_CONDITION_KEY_LENGTH} characters.`,
            );
          }
          page = await cross.tagValues(principal, projectId, key, after, limit);
        }
        const last = page.items[page.items.length - 1];
        return reply.code(200).send({
          [which]: page.items,
          page_info: {
            next_marker: page.more && last !== undefined ? encodeMarker(last) : null,
            current_count: page.items.length,
          },
        });
      },
    });
  }

  {
    const { url, method, operationId } = route('providers');
    app.route({
      url,
      method,
      config,
      schema: {
        operationId,
        summary: 'List the services and resource types whose tags this API manages',
        tags,
        security,
        querystring: PROVIDERS_SCHEMA.querystring,
        response: { 200: PROVIDERS_SCHEMA[200], ...TMS_ERROR_RESPONSES },
      },
      handler: async (request, reply) => {
        const principal = await authenticate(request);
        const only = queryString(request, 'provider');
        if (only !== undefined && typeof only !== 'string') throw invalid("'provider' is invalid.");
        const providers = cross.providers(principal, only);
        return reply.code(200).send({ providers, total_count: providers.length });
      },
    });
  }
}
