import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import {
  deregisterResource,
  listResources,
  registerResource,
  resetTenantData,
} from '../admin/resources.js';
import { applySeed } from '../admin/seed.js';
import { SeedError } from '../admin/seed-document.js';
import { AuthenticationError } from '../auth/authenticator.js';
import type { SecretBox } from '../auth/secret-box.js';
import { AppError } from '../core/app-error.js';
import { adminOrigin } from '../core/change-event.js';
import { sha256Hex } from '../core/hash.js';
import type { Store } from '../store/database.js';
import {
  AdminError,
  projectParams,
  ResourceSchema,
  registerBody,
  registerParams,
  resourceJson,
  resourceParams,
  resourceQuery,
  SeedAnswerSchema,
  seedAnswerJson,
} from './admin-schemas.js';
import { adminRenderer } from './envelopes.js';
import { SEED_SCHEMA_PATH, seedDocument, seedInput } from './seed-schema.js';
import { GatewayErrorSchema } from './service-schemas.js';
import {
  jsonObjectBody,
  optionalJsonObjectBody,
  routeValidation,
  type TypeBoxProvider,
} from './validation.js';

export { AdminError };

export interface AdminRouteDeps {
  readonly store: Store;
  readonly secrets: SecretBox;
  /** SHA-256 (hex) of the admin token. */
  readonly adminTokenHash: string;
}

/**
 * A hook that lets only callers with the admin token through (401 otherwise). It runs before
 * the request is validated, so a caller without the token learns nothing about its request.
 */
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

/** What every admin route shares: the admin envelope, the admin-token guard, its OpenAPI tag and security. */
export function adminRouteBase(adminTokenHash: string) {
  return {
    base: { config: { errors: adminRenderer }, preValidation: adminGuard(adminTokenHash) },
    tags: ['Admin'],
    security: [{ admin: [] }],
  };
}

/** The admin API: seed, reset and resource registration, behind the admin token. */
export function registerAdminRoutes(fastify: FastifyInstance, deps: AdminRouteDeps): void {
  const app = fastify.withTypeProvider<TypeBoxProvider>();
  const { store } = deps;

  const errors = { 400: AdminError, 401: GatewayErrorSchema, 404: AdminError };
  const { base, tags, security } = adminRouteBase(deps.adminTokenHash);

  app.post('/admin/v1/seed', {
    ...base,
    validatorCompiler: routeValidation({ body: { compiled: seedDocument, read: jsonObjectBody } }),
    schema: {
      operationId: 'AdminSeed',
      summary: 'Load a seed document (idempotent upsert; a bad document is rejected whole)',
      description: `The document's JSON Schema is served at ${SEED_SCHEMA_PATH}. Ids are optional: an entry without one is found by its name within its parent, or created with a generated id. Answers the id of every entry, in document order.`,
      tags,
      security,
      body: seedDocument.schema,
      response: { 200: SeedAnswerSchema, ...errors },
    },
    handler: async (request) => {
      try {
        return seedAnswerJson(
          await applySeed(
            store,
            deps.secrets,
            seedInput(request.body),
            adminOrigin('AdminSeed', request.ip, request.id),
          ),
        );
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
      await resetTenantData(store);
      return reply.code(204).send(null);
    },
  });

  app.put('/admin/v1/projects/:project_id/resources/:type/:id', {
    ...base,
    validatorCompiler: routeValidation({
      params: { compiled: registerParams },
      body: { compiled: registerBody, read: optionalJsonObjectBody },
    }),
    schema: {
      operationId: 'AdminRegisterResource',
      summary: 'Register a resource, or update its name and enterprise project',
      tags,
      security,
      params: registerParams.schema,
      body: registerBody.schema,
      response: { 200: ResourceSchema, ...errors },
    },
    handler: async (request) => {
      const { project_id: projectId, type, id } = request.params;
      const { name, enterprise_project_id: enterpriseProjectId } = request.body;
      const registered = await registerResource(store, {
        projectId,
        type,
        id,
        ...(name !== undefined ? { name } : {}),
        ...(enterpriseProjectId !== undefined ? { enterpriseProjectId } : {}),
      });
      return resourceJson(registered);
    },
  });

  app.delete('/admin/v1/projects/:project_id/resources/:type/:id', {
    ...base,
    validatorCompiler: routeValidation({ params: { compiled: resourceParams } }),
    schema: {
      operationId: 'AdminDeregisterResource',
      summary: 'Deregister a resource; its tags go with it',
      tags,
      security,
      params: resourceParams.schema,
      response: { 204: Type.Null(), ...errors },
    },
    handler: async (request, reply) => {
      const { project_id: projectId, type, id } = request.params;
      await deregisterResource(
        store,
        projectId,
        type,
        id,
        adminOrigin('AdminDeregisterResource', request.ip, request.id),
      );
      return reply.code(204).send(null);
    },
  });

  app.get('/admin/v1/projects/:project_id/resources', {
    ...base,
    validatorCompiler: routeValidation({
      params: { compiled: projectParams },
      querystring: { compiled: resourceQuery },
    }),
    schema: {
      operationId: 'AdminListResources',
      summary: 'List the registered resources of a project with their tags, newest first',
      tags,
      security,
      params: projectParams.schema,
      querystring: resourceQuery.schema,
      response: { 200: Type.Object({ resources: Type.Array(ResourceSchema) }), ...errors },
    },
    handler: async (request) => {
      const list = await listResources(store, request.params.project_id, request.query.type);
      return { resources: list.map(resourceJson) };
    },
  });
}
