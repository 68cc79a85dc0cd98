import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { applySeed } from '../admin/seed.js';
import { SeedError } from '../admin/seed-document.js';
import { AuthenticationError } from '../auth/authenticator.js';
import type { SecretBox } from '../auth/secret-box.js';
import { AppError } from '../core/app-error.js';
import { sha256Hex } from '../core/hash.js';
import { RESOURCE_ID_PATTERN } from '../core/ids.js';
import { isResourceType, RESOURCE_TYPES } from '../services/registry.js';
import type { Store } from '../store/database.js';
import { resetAll } from '../store/identity-store.js';
import {
  deregisterResource,
  listResourcesWithTags,
  type ResourceWithTags,
  registerResources,
} from '../store/resources-store.js';
import { listTags } from '../store/tags-store.js';
import { requireProject } from '../tags/projects.js';
import { parseJsonObject } from '../tags/tag-input.js';
import { adminRenderer } from './envelopes.js';
import { GatewayErrorSchema, TagSchema } from './service-schemas.js';

export interface AdminRouteDeps {
  readonly store: Store;
  readonly secrets: SecretBox;
  /** SHA-256 (hex) of the admin token. */
  readonly adminTokenHash: string;
}

export const AdminError = Type.Object({
  error_code: Type.String(),
  error_msg: Type.String(),
  request_id: Type.String(),
});

const ResourceSchema = Type.Object({
  project_id: Type.String(),
  type: Type.String(),
  id: Type.String(),
  name: Type.String(),
  enterprise_project_id: Type.String(),
  created_at: Type.String(),
  tags: Type.Array(TagSchema),
});

const resourceParams = Type.Object({
  project_id: Type.String(),
  type: Type.Union(RESOURCE_TYPES.map((t) => Type.Literal(t))),
  id: Type.String(),
});

function resourceJson(r: ResourceWithTags) {
  return {
    project_id: r.projectId,
    type: r.type,
    id: r.resourceId,
    name: r.name,
    enterprise_project_id: r.enterpriseProjectId,
    created_at: r.createdAt,
    tags: r.tags,
  };
}

function checkType(type: string): void {
  if (!isResourceType(type)) {
    throw new AppError(
      'invalid_parameter',
      `Unknown resource type '${type}'; expected one of ${RESOURCE_TYPES.join(', ')}.`,
    );
  }
}

/** The admin API: seed, reset and resource registration, behind the admin token. */
/** A preHandler that lets only callers with the admin token through (401 otherwise). */
export function adminGuard(adminTokenHash: string) {
  const expected = Buffer.from(adminTokenHash, 'hex');
  return async (request: FastifyRequest) => {
    const header = request.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(header);
    if (!m) {
      throw new AuthenticationError(
        'The admin API needs an Authorization: Bearer <admin token> header.',
      );
    }
    const given = Buffer.from(sha256Hex(m[1]!.trim()), 'hex');
    if (!timingSafeEqual(given, expected)) {
      throw new AuthenticationError('The admin token is not valid.');
    }
  };
}

export function registerAdminRoutes(app: FastifyInstance, deps: AdminRouteDeps): void {
  const { store } = deps;
  const checkAdmin = adminGuard(deps.adminTokenHash);

  const errors = { 400: AdminError, 401: GatewayErrorSchema, 404: AdminError };
  const base = { config: { errors: adminRenderer }, preHandler: checkAdmin };
  const tags = ['Admin'];
  const security = [{ admin: [] }];

  app.post('/admin/v1/seed', {
    ...base,
    schema: {
      operationId: 'AdminSeed',
      summary: 'Load a seed document (idempotent upsert; a bad document is rejected whole)',
      tags,
      security,
      body: Type.Object({
        domains: Type.Optional(Type.Array(Type.Object({}))),
        projects: Type.Optional(Type.Array(Type.Object({}))),
        users: Type.Optional(Type.Array(Type.Object({}))),
        resources: Type.Optional(Type.Array(Type.Object({}))),
      }),
      response: {
        200: Type.Object({
          domains: Type.Integer(),
          projects: Type.Integer(),
          users: Type.Integer(),
          access_keys: Type.Integer(),
          resources: Type.Integer(),
        }),
        ...errors,
      },
    },
    handler: async (request) => {
      const doc = parseJsonObject(request.body as Buffer | undefined);
      try {
        return await applySeed(store, deps.secrets, doc);
      } catch (err) {
        if (err instanceof SeedError) throw new AppError('invalid_parameter', err.message);
        throw err;
      }
    },
  });

  app.post('/admin/v1/reset', {
    ...base,
    schema: {
      operationId: 'AdminReset',
      summary: 'Empty every table of tenant data (the admin token and keys stay)',
      tags,
      security,
      response: { 204: Type.Null(), ...errors },
    },
    handler: async (_request, reply) => {
      await store.transaction((tx) => resetAll(tx));
      return reply.code(204).send();
    },
  });

  app.put('/admin/v1/projects/:project_id/resources/:type/:id', {
    ...base,
    schema: {
      operationId: 'AdminRegisterResource',
      summary: 'Register a resource, or update its name and enterprise project',
      tags,
      security,
      params: resourceParams,
      body: Type.Object({
        name: Type.Optional(Type.String()),
        enterprise_project_id: Type.Optional(Type.String()),
      }),
      response: { 200: ResourceSchema, ...errors },
    },
    handler: async (request) => {
      const { project_id: projectId, type, id } = request.params as Record<string, string>;
      checkType(type!);
      if (!RESOURCE_ID_PATTERN.test(id!)) {
        throw new AppError('invalid_parameter', 'The resource id must be 1–128 characters.');
      }
      const raw = request.body as Buffer | undefined;
      const body = raw && raw.length > 0 ? parseJsonObject(raw) : {};
      for (const f of ['name', 'enterprise_project_id'] as const) {
        if (body[f] !== undefined && typeof body[f] !== 'string') {
          throw new AppError('invalid_parameter', `'${f}' must be a string.`);
        }
      }
      await requireProject(store.db, projectId!);
      const rec = await store.transaction(async (tx) => {
        const [r] = await registerResources(
          tx,
          [
            {
              projectId: projectId!,
              type: type!,
              resourceId: id!,
              name: (body.name as string | undefined) ?? '',
              enterpriseProjectId: (body.enterprise_project_id as string | undefined) ?? '0',
            },
          ],
          new Date().toISOString(),
        );
        return { ...r!, tags: await listTags(tx, r!.projectId, r!.rid) };
      });
      return resourceJson(rec);
    },
  });

  app.delete('/admin/v1/projects/:project_id/resources/:type/:id', {
    ...base,
    schema: {
      operationId: 'AdminDeregisterResource',
      summary: 'Deregister a resource; its tags go with it',
      tags,
      security,
      params: resourceParams,
      response: { 204: Type.Null(), ...errors },
    },
    handler: async (request, reply) => {
      const { project_id: projectId, type, id } = request.params as Record<string, string>;
      checkType(type!);
      const gone = await store.transaction((tx) => deregisterResource(tx, projectId!, type!, id!));
      if (!gone) {
        throw new AppError(
          'resource_not_found',
          `No ${type} '${id}' is registered in project '${projectId}'.`,
        );
      }
      return reply.code(204).send();
    },
  });

  app.get('/admin/v1/projects/:project_id/resources', {
    ...base,
    schema: {
      operationId: 'AdminListResources',
      summary: 'List the registered resources of a project with their tags, newest first',
      tags,
      security,
      params: Type.Object({ project_id: Type.String() }),
      querystring: Type.Object({
        type: Type.Optional(Type.Union(RESOURCE_TYPES.map((t) => Type.Literal(t)))),
      }),
      response: { 200: Type.Object({ resources: Type.Array(ResourceSchema) }), ...errors },
    },
    handler: async (request) => {
      const { project_id: projectId } = request.params as Record<string, string>;
      const { type } = request.query as Record<string, string | undefined>;
      if (type !== undefined) checkType(type);
      await requireProject(store.db, projectId!);
      const list = await listResourcesWithTags(store.db, projectId!, type);
      return { resources: list.map(resourceJson) };
    },
  });
}
