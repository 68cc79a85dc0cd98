import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Authenticator } from '../auth/authenticator.js';
import { AppError } from '../core/app-error.js';
import type { Principal } from '../core/principal.js';
import { RESOURCE_TYPES, type ResourceType } from '../services/registry.js';
import { type CrossServiceOperation, TMS_ROUTES, tms } from '../services/tms.js';
import type { Store } from '../store/database.js';
import type { BatchTarget, CrossServiceTags } from '../tags/cross-service.js';
import { requireProject } from '../tags/projects.js';
import { parseJsonObject } from '../tags/tag-input.js';
import { conditionPredicates, readCount, unstorable } from '../tags/tag-query.js';
import { changeOrigin } from './change-origin.js';
import { serviceRenderer } from './envelopes.js';
import { serviceBodies } from './service-input.js';
import { signable } from './signable.js';
import { tagsToCreate, tagsToDelete } from './tag-body-schemas.js';
import {
  batchAnswer,
  compileBatchBody,
  compileFilterBody,
  compileListingQuery,
  FILTER_KINDS,
  filterAnswer,
  listingAnswer,
  PROVIDERS_ANSWER,
  providersQuery,
  TMS_ERROR_RESPONSES,
} from './tms-schemas.js';

export interface TmsRouteDeps {
  readonly store: Store;
  readonly cross: CrossServiceTags;
  readonly authenticator: Authenticator;
}

function invalid(message: string): AppError {
  return new AppError('invalid_parameter', message);
}

/** The resources of a batch, as the cross-service API acts on them. */
const targetsOf = (
  resources: readonly { resource_type: ResourceType; resource_id: string }[],
): BatchTarget[] => resources.map((r) => ({ resourceId: r.resource_id, type: r.resource_type }));

/** The body's bytes as a JSON object. */
const jsonBody = (request: FastifyRequest) =>
  parseJsonObject(Buffer.isBuffer(request.body) ? request.body : undefined);

/** A page marker: the last item of the previous page, opaque to the client. */
function encodeMarker(last: string): string {
  return Buffer.from(last, 'utf8').toString('base64url');
}

function decodeMarker(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (/^[A-Za-z0-9_-]+$/.test(raw)) {
    const decoded = Buffer.from(raw, 'base64url').toString('utf8');
    if (encodeMarker(decoded) === raw && !unstorable(decoded)) return decoded;
  }
  throw invalid("'marker' is not a marker this API returned.");
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
    const body = compileBatchBody(action);
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
        body: body.all.schema,
        response: { 200: batchAnswer(), ...TMS_ERROR_RESPONSES },
      },
      handler: async (request, reply) => {
        const principal = await authenticate(request);
        const input = jsonBody(request);
        const { project_id: projectId } = body.project.read(input);
        await admitProject(request, principal, projectId);
        const targets = targetsOf(body.resources.read(input).resources);
        const items = { tags: body.all.read(input).tags };
        // Each resource's tags under its own service's rules, its faults in its own codes.
        const origin = changeOrigin(tms.id, operationId, request);
        const failed =
          action === 'create'
            ? await cross.batch(principal, origin, projectId, targets, {
                action,
                tagsFor: (p) => tagsToCreate(serviceBodies(p).tags.create.read(items).tags),
              })
            : await cross.batch(principal, origin, projectId, targets, {
                action,
                tagsFor: (p) => tagsToDelete(serviceBodies(p).tags.delete.read(items).tags),
              });
        return reply.code(200).send({ failed_resources: failed });
      },
    });
  }

  {
    const { url, method, operationId } = route('filter');
    const body = compileFilterBody();
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
        body: body.all.schema,
        response: { 200: filterAnswer(), ...TMS_ERROR_RESPONSES },
      },
      handler: async (request, reply) => {
        const principal = await authenticate(request);
        const input = jsonBody(request);
        const { project_id: projectId } = body.project.read(input);
        await admitProject(request, principal, projectId);
        const rest = body.all.read(input);
        const types = [...new Set(rest.resource_types ?? RESOURCE_TYPES)];
        const all = conditionPredicates(rest.tags, 'tags', FILTER_KINDS);
        const untagged = rest.without_any_tag ?? false;
        const offset = readCount(
          rest.offset,
          'offset',
          { min: 0, max: Number.MAX_SAFE_INTEGER, fallback: 0 },
          'invalid_parameter',
        );
        const limit = readCount(
          rest.limit,
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
    const query = compileListingQuery(which);
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
        querystring: query.all.schema,
        response: { 200: listingAnswer(which), ...TMS_ERROR_RESPONSES },
      },
      handler: async (request, reply) => {
        const hint = query.projectHint.read(request.query).project_id;
        const principal = await authenticate(request, hint);
        const { project_id: projectId } = query.project.read(request.query);
        await admitProject(request, principal, projectId);
        const page = query.page.read(request.query);
        const limit = readCount(
          page.limit,
          'limit',
          { min: 1, ...tms.listLimit },
          'invalid_parameter',
        );
        const after = decodeMarker(page.marker);
        let found: { items: string[]; more: boolean };
        if (which === 'keys') {
          found = await cross.tagKeys(principal, projectId, after, limit);
        } else {
          const { key } = query.all.read(request.query);
          found = await cross.tagValues(
            principal,
            projectId,
            typeof key === 'string' ? key : '',
            after,
            limit,
          );
        }
        const last = found.items[found.items.length - 1];
        return reply.code(200).send({
          [which]: found.items,
          page_info: {
            next_marker: found.more && last !== undefined ? encodeMarker(last) : null,
            current_count: found.items.length,
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
        querystring: providersQuery.schema,
        response: { 200: PROVIDERS_ANSWER, ...TMS_ERROR_RESPONSES },
      },
      handler: async (request, reply) => {
        const principal = await authenticate(request);
        const only = providersQuery.read(request.query).provider;
        const providers = cross.providers(principal, only);
        return reply.code(200).send({ providers, total_count: providers.length });
      },
    });
  }
}
