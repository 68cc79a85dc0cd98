import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import {
  deleteDomain,
  deleteProject,
  listDomains,
  listProjects,
  putDomain,
  putProject,
  resetProject,
} from '../admin/tenancy.js';
import type { Store } from '../store/database.js';
import { adminRouteBase } from './admin-routes.js';
import { AdminError } from './admin-schemas.js';
import {
  anyDomainParams,
  anyProjectParams,
  DomainView,
  domainJson,
  domainParams,
  ProjectView,
  projectIdParams,
  projectJson,
  projectQuery,
  putDomainBody,
  putProjectBody,
} from './admin-tenancy-schemas.js';
import { GatewayErrorSchema } from './service-schemas.js';
import { jsonObjectBody, routeValidation, type TypeBoxProvider } from './validation.js';

export interface AdminTenancyRouteDeps {
  readonly store: Store;
  /** SHA-256 (hex) of the admin token. */
  readonly adminTokenHash: string;
}

/** The admin API's domains and projects, and the reset of one project's tag data. */
export function registerAdminTenancyRoutes(
  fastify: FastifyInstance,
  deps: AdminTenancyRouteDeps,
): void {
  const app = fastify.withTypeProvider<TypeBoxProvider>();
  const { store } = deps;
  const errors = { 400: AdminError, 401: GatewayErrorSchema, 404: AdminError, 409: AdminError };
  const { base, tags, security } = adminRouteBase(deps.adminTokenHash);

  app.get('/admin/v1/domains', {
    ...base,
    schema: {
      operationId: 'AdminListDomains',
      summary: 'List the domains (accounts), by id',
      tags,
      security,
      response: { 200: Type.Object({ domains: Type.Array(DomainView) }), ...errors },
    },
    handler: async () => ({ domains: (await listDomains(store)).map(domainJson) }),
  });

  app.put('/admin/v1/domains/:domain_id', {
    ...base,
    validatorCompiler: routeValidation({
      params: { compiled: domainParams },
      body: { compiled: putDomainBody, read: jsonObjectBody },
    }),
    schema: {
      operationId: 'AdminPutDomain',
      summary: 'Create a domain, or rename it',
      description:
        'Answers 200 with the domain either way. A name another domain has answers 409. Every node forgets what it cached of the domain.',
      tags,
      security,
      params: domainParams.schema,
      body: putDomainBody.schema,
      response: { 200: DomainView, ...errors },
    },
    handler: async (request) => {
      const { record } = await putDomain(store, {
        id: request.params.domain_id,
        name: request.body.name,
      });
      return domainJson(record);
    },
  });

  app.delete('/admin/v1/domains/:domain_id', {
    ...base,
    validatorCompiler: routeValidation({ params: { compiled: anyDomainParams } }),
    schema: {
      operationId: 'AdminDeleteDomain',
      summary: 'Delete an empty domain',
      description:
        'A domain that still holds projects or users answers 409: delete them first (DELETE /admin/v1/projects/{id}, DELETE /admin/v1/users/{id}).',
      tags,
      security,
      params: anyDomainParams.schema,
      response: { 204: Type.Null(), ...errors },
    },
    handler: async (request, reply) => {
      await deleteDomain(store, request.params.domain_id);
      return reply.code(204).send(null);
    },
  });

  app.get('/admin/v1/projects', {
    ...base,
    validatorCompiler: routeValidation({ querystring: { compiled: projectQuery } }),
    schema: {
      operationId: 'AdminListProjects',
      summary: 'List the projects, optionally of one domain, by id',
      tags,
      security,
      querystring: projectQuery.schema,
      response: { 200: Type.Object({ projects: Type.Array(ProjectView) }), ...errors },
    },
    handler: async (request) => ({
      projects: (await listProjects(store, request.query.domain_id)).map(projectJson),
    }),
  });

  app.put('/admin/v1/projects/:project_id', {
    ...base,
    validatorCompiler: routeValidation({
      params: { compiled: projectIdParams },
      body: { compiled: putProjectBody, read: jsonObjectBody },
    }),
    schema: {
      operationId: 'AdminPutProject',
      summary: 'Create a project in a domain, or rename it',
      description:
        "Answers 200 with the project either way. An unknown domain answers 404; a name another project of the domain has, or a domain other than the project's, answers 409.",
      tags,
      security,
      params: projectIdParams.schema,
      body: putProjectBody.schema,
      response: { 200: ProjectView, ...errors },
    },
    handler: async (request) => {
      const { record } = await putProject(store, {
        id: request.params.project_id,
        name: request.body.name,
        domainId: request.body.domain_id,
      });
      return projectJson(record);
    },
  });

  app.delete('/admin/v1/projects/:project_id', {
    ...base,
    validatorCompiler: routeValidation({ params: { compiled: anyProjectParams } }),
    schema: {
      operationId: 'AdminDeleteProject',
      summary: 'Delete a project that holds no resources',
      description:
        'A project that still holds resources answers 409: deregister them, or reset the project, first.',
      tags,
      security,
      params: anyProjectParams.schema,
      response: { 204: Type.Null(), ...errors },
    },
    handler: async (request, reply) => {
      await deleteProject(store, request.params.project_id);
      return reply.code(204).send(null);
    },
  });

  app.post('/admin/v1/projects/:project_id/reset', {
    ...base,
    validatorCompiler: routeValidation({ params: { compiled: anyProjectParams } }),
    schema: {
      operationId: 'AdminResetProject',
      summary: "Remove a project's resources and their tags",
      description:
        'The project, its domain, users, access keys and policies stay; other projects are untouched. An unknown project answers 404.',
      tags,
      security,
      params: anyProjectParams.schema,
      response: { 204: Type.Null(), ...errors },
    },
    handler: async (request, reply) => {
      await resetProject(store, request.params.project_id);
      return reply.code(204).send(null);
    },
  });
}
