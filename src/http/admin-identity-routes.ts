import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { CredentialAdmin } from '../admin/credentials.js';
import { adminRouteBase } from './admin-routes.js';
import {
  AccessKeyView,
  AdminError,
  accessKeyJson,
  accessKeyParams,
  attachPolicyBody,
  CreatedAccessKeyView,
  createdAccessKeyJson,
  createUserBody,
  setPasswordBody,
  setPoliciesBody,
  UserView,
  userJson,
  userParams,
  userQuery,
} from './admin-schemas.js';
import { GatewayErrorSchema } from './service-schemas.js';
import { jsonObjectBody, routeValidation, type TypeBoxProvider } from './validation.js';

export interface AdminIdentityRouteDeps {
  readonly credentials: CredentialAdmin;
  /** SHA-256 (hex) of the admin token. */
  readonly adminTokenHash: string;
}

/**
 * The admin API's credential management: users, their identity policies and their access keys.
 * Secrets travel only in: a password in a request, and a new secret key in the answer creating it.
 */
export function registerAdminIdentityRoutes(
  fastify: FastifyInstance,
  deps: AdminIdentityRouteDeps,
): void {
  const app = fastify.withTypeProvider<TypeBoxProvider>();
  const { credentials } = deps;
  const errors = { 400: AdminError, 401: GatewayErrorSchema, 404: AdminError, 409: AdminError };
  const { base, tags, security } = adminRouteBase(deps.adminTokenHash);
  const withUser = routeValidation({ params: { compiled: userParams } });

  app.post('/admin/v1/users', {
    ...base,
    validatorCompiler: routeValidation({
      body: { compiled: createUserBody, read: jsonObjectBody },
    }),
    schema: {
      operationId: 'AdminCreateUser',
      summary: 'Create a user of a domain',
      description:
        'Without `id` one is generated. The password is stored hashed; policies are validated.',
      tags,
      security,
      body: createUserBody.schema,
      response: { 201: UserView, ...errors },
    },
    handler: async (request, reply) => {
      const b = request.body;
      const user = await credentials.createUser({
        ...(b.id !== undefined ? { id: b.id } : {}),
        name: b.name,
        domainId: b.domain_id,
        ...(b.root !== undefined ? { root: b.root } : {}),
        ...(b.password !== undefined ? { password: b.password } : {}),
        ...(b.policies !== undefined ? { policies: b.policies } : {}),
      });
      return reply.code(201).send(userJson(user));
    },
  });

  app.get('/admin/v1/users', {
    ...base,
    validatorCompiler: routeValidation({ querystring: { compiled: userQuery } }),
    schema: {
      operationId: 'AdminListUsers',
      summary: 'List users, optionally of one domain',
      tags,
      security,
      querystring: userQuery.schema,
      response: { 200: Type.Object({ users: Type.Array(UserView) }), ...errors },
    },
    handler: async (request) => ({
      users: (await credentials.listUsers(request.query.domain_id)).map(userJson),
    }),
  });

  app.get('/admin/v1/users/:user_id', {
    ...base,
    validatorCompiler: withUser,
    schema: {
      operationId: 'AdminShowUser',
      summary: 'Show a user',
      tags,
      security,
      params: userParams.schema,
      response: { 200: UserView, ...errors },
    },
    handler: async (request) => userJson(await credentials.getUser(request.params.user_id)),
  });

  app.delete('/admin/v1/users/:user_id', {
    ...base,
    validatorCompiler: withUser,
    schema: {
      operationId: 'AdminDeleteUser',
      summary: 'Delete a user with its access keys; its tokens stop working',
      tags,
      security,
      params: userParams.schema,
      response: { 204: Type.Null(), ...errors },
    },
    handler: async (request, reply) => {
      await credentials.deleteUser(request.params.user_id);
      return reply.code(204).send(null);
    },
  });

  app.put('/admin/v1/users/:user_id/policies', {
    ...base,
    validatorCompiler: routeValidation({
      params: { compiled: userParams },
      body: { compiled: setPoliciesBody, read: jsonObjectBody },
    }),
    schema: {
      operationId: 'AdminSetUserPolicies',
      summary: "Replace a user's identity policies",
      description: 'Body: `{"policies":[…]}`; an empty list detaches every policy.',
      tags,
      security,
      params: userParams.schema,
      body: setPoliciesBody.schema,
      response: { 200: UserView, ...errors },
    },
    handler: async (request) =>
      userJson(await credentials.setPolicies(request.params.user_id, request.body.policies)),
  });

  app.post('/admin/v1/users/:user_id/policies', {
    ...base,
    validatorCompiler: routeValidation({
      params: { compiled: userParams },
      body: { compiled: attachPolicyBody, read: jsonObjectBody },
    }),
    schema: {
      operationId: 'AdminAttachUserPolicy',
      summary: 'Attach one identity policy document to a user',
      tags,
      security,
      params: userParams.schema,
      body: attachPolicyBody.schema,
      response: { 200: UserView, ...errors },
    },
    handler: async (request) =>
      userJson(await credentials.attachPolicy(request.params.user_id, request.body)),
  });

  app.put('/admin/v1/users/:user_id/password', {
    ...base,
    validatorCompiler: routeValidation({
      params: { compiled: userParams },
      body: { compiled: setPasswordBody, read: jsonObjectBody },
    }),
    schema: {
      operationId: 'AdminSetUserPassword',
      summary: "Set a user's password (stored hashed)",
      tags,
      security,
      params: userParams.schema,
      body: setPasswordBody.schema,
      response: { 204: Type.Null(), ...errors },
    },
    handler: async (request, reply) => {
      await credentials.setPassword(request.params.user_id, request.body.password);
      return reply.code(204).send(null);
    },
  });

  app.post('/admin/v1/users/:user_id/access-keys', {
    ...base,
    validatorCompiler: withUser,
    schema: {
      operationId: 'AdminCreateAccessKey',
      summary: 'Create an access key for a user',
      description:
        'The answer is the only place the secret key ever appears: it is stored encrypted under the master key and never listed.',
      tags,
      security,
      params: userParams.schema,
      response: { 201: CreatedAccessKeyView, ...errors },
    },
    handler: async (request, reply) => {
      const key = await credentials.createAccessKey(request.params.user_id);
      return reply.code(201).send(createdAccessKeyJson(key));
    },
  });

  app.get('/admin/v1/users/:user_id/access-keys', {
    ...base,
    validatorCompiler: withUser,
    schema: {
      operationId: 'AdminListAccessKeys',
      summary: "List a user's access keys (ids only, never secrets)",
      tags,
      security,
      params: userParams.schema,
      response: { 200: Type.Object({ access_keys: Type.Array(AccessKeyView) }), ...errors },
    },
    handler: async (request) => ({
      access_keys: (await credentials.listAccessKeys(request.params.user_id)).map(accessKeyJson),
    }),
  });

  app.delete('/admin/v1/users/:user_id/access-keys/:access_key', {
    ...base,
    validatorCompiler: routeValidation({ params: { compiled: accessKeyParams } }),
    schema: {
      operationId: 'AdminDeleteAccessKey',
      summary: 'Delete an access key; requests signed with it are refused from then on',
      tags,
      security,
      params: accessKeyParams.schema,
      response: { 204: Type.Null(), ...errors },
    },
    handler: async (request, reply) => {
      const { user_id: userId, access_key: accessKey } = request.params;
      await credentials.deleteAccessKey(userId, accessKey);
      return reply.code(204).send(null);
    },
  });
}
