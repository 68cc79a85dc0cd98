import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { CredentialAdmin } from '../admin/credentials.js';
import { ID_PATTERN } from '../core/ids.js';
import { parseJsonObject } from '../tags/tag-input.js';
import { AdminError, adminGuard } from './admin-routes.js';
import { adminRenderer } from './envelopes.js';
import { GatewayErrorSchema } from './service-schemas.js';

export interface AdminIdentityRouteDeps {
  readonly credentials: CredentialAdmin;
  /** SHA-256 (hex) of the admin token. */
  readonly adminTokenHash: string;
}

const PolicyDocument = Type.Object(
  {
    Version: Type.Optional(Type.String({ description: '"5.0"' })),
    Statement: Type.Array(
      Type.Object({
        Sid: Type.Optional(Type.String()),
        Effect: Type.Union([Type.Literal('Allow'), Type.Literal('Deny')]),
        Action: Type.Union([Type.String(), Type.Array(Type.String())], {
          description: 'Action names or patterns with * wildcards, e.g. "bms:servers:*".',
        }),
        Resource: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])),
        Condition: Type.Optional(
          Type.Record(Type.String(), Type.Record(Type.String(), Type.Unknown()), {
            description:
              'Operator → condition key → value(s). Operators: StringEquals, StringNotEquals, StringLike, StringNotLike, Null, with optional ForAllValues:/ForAnyValue: prefixes. Keys: g:ResourceTag/<key>, g:RequestTag/<key>, g:TagKeys, g:EnterpriseProjectId.',
          }),
        ),
      }),
    ),
  },
  { description: 'An identity policy document; validated when written.' },
);

const AccessKeyView = Type.Object({
  access_key: Type.String(),
  user_id: Type.String(),
  created_at: Type.String(),
});

const UserView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  domain_id: Type.String(),
  root: Type.Boolean(),
  password_set: Type.Boolean({ description: 'Whether the user has a password (never the hash).' }),
  policies: Type.Array(PolicyDocument),
  access_keys: Type.Array(AccessKeyView, { description: 'Access key ids; never the secrets.' }),
  created_at: Type.String(),
});

const userParams = Type.Object({ user_id: Type.String() });

/**
 * The admin API's credential management: users, their identity policies and their access keys.
 * Secrets travel only in: a password in a request, and a new secret key in the answer creating it.
 */
export function registerAdminIdentityRoutes(
  app: FastifyInstance,
  deps: AdminIdentityRouteDeps,
): void {
  const { credentials } = deps;
  const errors = { 400: AdminError, 401: GatewayErrorSchema, 404: AdminError, 409: AdminError };
  const base = { config: { errors: adminRenderer }, preHandler: adminGuard(deps.adminTokenHash) };
  const tags = ['Admin'];
  const security = [{ admin: [] }];
  const body = (raw: unknown) => parseJsonObject(raw as Buffer | undefined);
  const userId = (params: unknown) => (params as { user_id: string }).user_id;

  app.post('/admin/v1/users', {
    ...base,
    schema: {
      operationId: 'AdminCreateUser',
      summary: 'Create a user of a domain',
      description:
        'Without `id` one is generated. The password is stored hashed; policies are validated.',
      tags,
      security,
      body: Type.Object({
        id: Type.Optional(Type.String({ pattern: ID_PATTERN.source })),
        name: Type.String({ minLength: 1, maxLength: 64 }),
        domain_id: Type.String(),
        root: Type.Optional(Type.Boolean({ description: 'A root user may do everything.' })),
        password: Type.Optional(Type.String({ minLength: 1 })),
        policies: Type.Optional(Type.Array(PolicyDocument)),
      }),
      response: { 201: UserView, ...errors },
    },
    handler: async (request, reply) =>
      reply.code(201).send(await credentials.createUser(body(request.body))),
  });

  app.get('/admin/v1/users', {
    ...base,
    schema: {
      operationId: 'AdminListUsers',
      summary: 'List users, optionally of one domain',
      tags,
      security,
      querystring: Type.Object({ domain_id: Type.Optional(Type.String()) }),
      response: { 200: Type.Object({ users: Type.Array(UserView) }), ...errors },
    },
    handler: async (request) => {
      const { domain_id: domainId } = request.query as { domain_id?: string };
      return { users: await credentials.listUsers(domainId) };
    },
  });

  app.get('/admin/v1/users/:user_id', {
    ...base,
    schema: {
      operationId: 'AdminShowUser',
      summary: 'Show a user',
      tags,
      security,
      params: userParams,
      response: { 200: UserView, ...errors },
    },
    handler: async (request) => credentials.getUser(userId(request.params)),
  });

  app.delete('/admin/v1/users/:user_id', {
    ...base,
    schema: {
      operationId: 'AdminDeleteUser',
      summary: 'Delete a user with its access keys; its tokens stop working',
      tags,
      security,
      params: userParams,
      response: { 204: Type.Null(), ...errors },
    },
    handler: async (request, reply) => {
      await credentials.deleteUser(userId(request.params));
      return reply.code(204).send();
    },
  });

  app.put('/admin/v1/users/:user_id/policies', {
    ...base,
    schema: {
      operationId: 'AdminSetUserPolicies',
      summary: "Replace a user's identity policies",
      description: 'Body: `{"policies":[…]}`; an empty list detaches every policy.',
      tags,
      security,
      params: userParams,
      body: Type.Object({ policies: Type.Array(PolicyDocument) }),
      response: { 200: UserView, ...errors },
    },
    handler: async (request) => {
      const b = body(request.body);
      return credentials.setPolicies(userId(request.params), b.policies);
    },
  });

  app.post('/admin/v1/users/:user_id/policies', {
    ...base,
    schema: {
      operationId: 'AdminAttachUserPolicy',
      summary: 'Attach one identity policy document to a user',
      tags,
      security,
      params: userParams,
      body: PolicyDocument,
      response: { 200: UserView, ...errors },
    },
    handler: async (request) =>
      credentials.attachPolicy(userId(request.params), body(request.body)),
  });

  app.put('/admin/v1/users/:user_id/password', {
    ...base,
    schema: {
      operationId: 'AdminSetUserPassword',
      summary: "Set a user's password (stored hashed)",
      tags,
      security,
      params: userParams,
      body: Type.Object({ password: Type.String({ minLength: 1 }) }),
      response: { 204: Type.Null(), ...errors },
    },
    handler: async (request, reply) => {
      await credentials.setPassword(userId(request.params), body(request.body).password);
      return reply.code(204).send();
    },
  });

  app.post('/admin/v1/users/:user_id/access-keys', {
    ...base,
    schema: {
      operationId: 'AdminCreateAccessKey',
      summary: 'Create an access key for a user',
      description:
        'The answer is the only place the secret key ever appears: it is stored encrypted under the master key and never listed.',
      tags,
      security,
      params: userParams,
      response: {
        201: Type.Object({
          access_key: Type.String(),
          secret_key: Type.String(),
          user_id: Type.String(),
          created_at: Type.String(),
        }),
        ...errors,
      },
    },
    handler: async (request, reply) =>
      reply.code(201).send(await credentials.createAccessKey(userId(request.params))),
  });

  app.get('/admin/v1/users/:user_id/access-keys', {
    ...base,
    schema: {
      operationId: 'AdminListAccessKeys',
      summary: "List a user's access keys (ids only, never secrets)",
      tags,
      security,
      params: userParams,
      response: { 200: Type.Object({ access_keys: Type.Array(AccessKeyView) }), ...errors },
    },
    handler: async (request) => ({
      access_keys: await credentials.listAccessKeys(userId(request.params)),
    }),
  });

  app.delete('/admin/v1/users/:user_id/access-keys/:access_key', {
    ...base,
    schema: {
      operationId: 'AdminDeleteAccessKey',
      summary: 'Delete an access key; requests signed with it are refused from then on',
      tags,
      security,
      params: Type.Object({ user_id: Type.String(), access_key: Type.String() }),
      response: { 204: Type.Null(), ...errors },
    },
    handler: async (request, reply) => {
      const p = request.params as { user_id: string; access_key: string };
      await credentials.deleteAccessKey(p.user_id, p.access_key);
      return reply.code(204).send();
    },
  });
}
