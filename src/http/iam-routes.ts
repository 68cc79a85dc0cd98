import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Authenticator } from '../auth/authenticator.js';
import {
  IDENTITY_REQUIRED,
  IdentityError,
  type IdentityService,
  SUBJECT_TOKEN_INVALID,
} from '../auth/identity-service.js';
import { AppError } from '../core/app-error.js';
import type { Principal } from '../core/principal.js';
import { keystoneBody, keystoneRenderer } from './envelopes.js';
import { GatewayErrorSchema } from './service-schemas.js';
import { signable } from './signable.js';
import { compileSchema, routeValidation, type TypeBoxProvider } from './validation.js';

/** The name faults and the request log give the IAM routes. */
export const IAM_SERVICE = 'iam';

export interface IamRouteDeps {
  readonly identity: IdentityService;
  readonly authenticator: Authenticator;
}

const KeystoneError = Type.Object({
  error: Type.Object({ code: Type.Integer(), message: Type.String(), title: Type.String() }),
});

const Ref = Type.Object({ id: Type.String(), name: Type.String() });

const TokenBody = Type.Object({
  token: Type.Object({
    expires_at: Type.String(),
    issued_at: Type.String(),
    methods: Type.Array(Type.String()),
    user: Type.Object({
      domain: Ref,
      id: Type.String(),
      name: Type.String(),
      password_expires_at: Type.String(),
    }),
    project: Type.Optional(Type.Object({ domain: Ref, id: Type.String(), name: Type.String() })),
    domain: Type.Optional(Ref),
    catalog: Type.Array(Type.Object({})),
    roles: Type.Array(Type.Object({ id: Type.String(), name: Type.String() })),
  }),
});

/** A token request: IAM checks `auth` itself, naming the part missing (identity-service.ts). */
const tokenBody = compileSchema(Type.Object({ auth: Type.Object({}) }), {
  describe: () => IDENTITY_REQUIRED,
});

/** The body as JSON, decoded as IAM does (invalid UTF-8 stands replaced, not refused). */
function keystoneJson(raw: unknown): unknown {
  try {
    return JSON.parse(Buffer.isBuffer(raw) ? raw.toString('utf8') : '');
  } catch {
    throw new AppError('body_malformed', 'The request body is invalid: it is not JSON.');
  }
}

const projectsQuery = compileSchema(Type.Object({ name: Type.Optional(Type.String()) }), {
  describe: () => 'Request parameter name is invalid: give it once.',
});

/** The caller, authenticated before its request is validated (see the discovery routes). */
function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error(`${request.url}: no caller was authenticated`);
  return request.principal;
}

function sendIdentityError(reply: FastifyReply, err: unknown) {
  if (err instanceof IdentityError) {
    return reply.code(err.status).send(keystoneBody(err.status, err.message));
  }
  throw err;
}

function baseUrl(request: FastifyRequest): string {
  return `${request.protocol}://${request.headers.host ?? request.hostname}`;
}

/**
 * The IAM subset SDKs and scripts need: password tokens, token checks, project and region
 * discovery.
 */
export function registerIamRoutes(fastify: FastifyInstance, deps: IamRouteDeps): void {
  const app = fastify.withTypeProvider<TypeBoxProvider>();
  const { identity, authenticator } = deps;
  const config = { errors: keystoneRenderer, service: IAM_SERVICE };
  const tags = ['IAM'];
  // Discovery answers only callers with credentials, whatever else is wrong with the request.
  const authenticated = async (request: FastifyRequest) => {
    request.principal = await authenticator.authenticate(signable(request));
  };

  app.post('/v3/auth/tokens', {
    config,
    validatorCompiler: routeValidation({ body: { compiled: tokenBody, read: keystoneJson } }),
    schema: {
      operationId: 'KeystoneCreateUserTokenByPassword',
      summary: 'Obtain a token with a password (project or domain scope, valid 24 h)',
      description:
        "The token is returned in the X-Subject-Token header. User by name with domain (id or name), or by id. Scope: project by id, or by name (in the user's domain unless given); or domain. A wrong user name, domain or password answers 401 'The username or password is wrong.', the same answer in about the same time whether or not the user exists. After 5 failed logins of a user within 15 minutes (the 5th still answers 'wrong'), the user is locked for 15 minutes: every login then answers 401 'The account is locked.', even with the right password; a successful login before that resets the count (server flag --login-lockout).",
      tags,
      body: tokenBody.schema,
      response: { 201: TokenBody, 400: KeystoneError, 401: KeystoneError },
    },
    handler: async (request, reply) => {
      try {
        const { token, description } = await identity.issue(request.body);
        return reply.code(201).header('X-Subject-Token', token).send(description);
      } catch (err) {
        return sendIdentityError(reply, err);
      }
    },
  });

  const verifySubject = async (request: FastifyRequest, reply: FastifyReply, withBody: boolean) => {
    const caller = await authenticator.authenticate(signable(request));
    const subject = request.headers['x-subject-token'];
    const description =
      typeof subject === 'string' ? await identity.describe(caller, subject) : undefined;
    if (!description) {
      return reply.code(404).send(keystoneBody(404, SUBJECT_TOKEN_INVALID));
    }
    reply.header('X-Subject-Token', subject);
    return withBody ? reply.code(200).send(description) : reply.code(200).send();
  };

  app.get('/v3/auth/tokens', {
    // The HEAD route Fastify adds for it is listed in the OpenAPI document too (as …-head).
    config: { ...config, swagger: { exposeHeadRoute: true } },
    schema: {
      operationId: 'KeystoneValidateToken',
      summary: 'Describe the token in X-Subject-Token (the caller authenticates with X-Auth-Token)',
      description:
        "404 for a token that is not valid: malformed, expired, revoked, of a deleted user or of a password since changed, or of another domain than the caller's.",
      tags,
      response: { 200: TokenBody, 401: GatewayErrorSchema, 404: KeystoneError },
    },
    // HEAD is answered by the same route (Fastify's exposeHeadRoutes), without the body.
    handler: async (request, reply) => verifySubject(request, reply, request.method !== 'HEAD'),
  });

  app.delete('/v3/auth/tokens', {
    config,
    schema: {
      operationId: 'KeystoneRevokeToken',
      summary: 'Revoke the token in X-Subject-Token at once (the caller authenticates itself)',
      description:
        "The token stops working at once, on every node, until it would have expired. A caller may revoke its own token (send it as both X-Auth-Token and X-Subject-Token) or any of its own user's; another user's token of the same domain only as the domain's root user (403 otherwise). A token that is not valid or belongs to another domain: 404. Deleting a user or changing its password revokes all of its tokens.",
      tags,
      response: {
        204: Type.Null(),
        401: GatewayErrorSchema,
        403: KeystoneError,
        404: KeystoneError,
      },
    },
    handler: async (request, reply) => {
      const caller = await authenticator.authenticate(signable(request));
      const subject = request.headers['x-subject-token'];
      if (typeof subject !== 'string' || subject === '') {
        return reply.code(404).send(keystoneBody(404, SUBJECT_TOKEN_INVALID));
      }
      try {
        await identity.revoke(caller, subject);
      } catch (err) {
        return sendIdentityError(reply, err);
      }
      return reply.code(204).send(null);
    },
  });

  app.get('/v3/projects', {
    config,
    preValidation: authenticated,
    validatorCompiler: routeValidation({ querystring: { compiled: projectsQuery } }),
    schema: {
      operationId: 'KeystoneListProjects',
      summary: "List the caller's projects, optionally by name (SDK project-id discovery)",
      tags,
      querystring: projectsQuery.schema,
      response: {
        200: Type.Object({
          links: Type.Object({
            self: Type.String(),
            previous: Type.Null(),
            next: Type.Null(),
          }),
          projects: Type.Array(
            Type.Object({
              is_domain: Type.Boolean(),
              description: Type.String(),
              links: Type.Object({ self: Type.String() }),
              enabled: Type.Boolean(),
              id: Type.String(),
              parent_id: Type.String(),
              domain_id: Type.String(),
              name: Type.String(),
            }),
          ),
        }),
        400: KeystoneError,
        401: GatewayErrorSchema,
      },
    },
    handler: async (request) => {
      const base = baseUrl(request);
      const projects = await identity.projects(principalOf(request), request.query.name);
      return {
        links: { self: `${base}${request.url}`, previous: null, next: null },
        projects: projects.map((p) => ({
          is_domain: false,
          description: '',
          links: { self: `${base}/v3/projects/${p.id}` },
          enabled: true,
          id: p.id,
          parent_id: p.domainId,
          domain_id: p.domainId,
          name: p.name,
        })),
      };
    },
  });

  app.get('/v3/regions', {
    config,
    preValidation: authenticated,
    schema: {
      operationId: 'KeystoneListRegions',
      summary: "List the regions of the caller's projects (SDK project discovery)",
      description:
        "Each region once, in IAM's shape: a project named R, or R_suffix (a sub-project), is in region R. Any token or signature of the domain may call it (IAM requires no permission for it). The official SDKs call it when no project of a region's name exists, and then refuse a region that is not listed.",
      tags,
      response: {
        200: Type.Object({
          regions: Type.Array(
            Type.Object({
              parent_region_id: Type.Null(),
              description: Type.String(),
              links: Type.Object({ self: Type.String() }),
              type: Type.Literal('public'),
              id: Type.String(),
              locales: Type.Object({ 'en-us': Type.String() }),
            }),
          ),
          links: Type.Object({
            self: Type.String(),
            previous: Type.Null(),
            next: Type.Null(),
          }),
        }),
        401: GatewayErrorSchema,
      },
    },
    handler: async (request) => {
      const base = baseUrl(request);
      const regions = await identity.regions(principalOf(request));
      return {
        regions: regions.map((id) => ({
          parent_region_id: null,
          description: '',
          links: { self: `${base}/v3/regions/${encodeURIComponent(id)}` },
          type: 'public' as const,
          id,
          locales: { 'en-us': id },
        })),
        links: { self: `${base}/v3/regions`, previous: null, next: null },
      };
    },
  });

  app.get('/v3/auth/domains', {
    config,
    preValidation: authenticated,
    schema: {
      operationId: 'KeystoneListAuthDomains',
      summary: 'List the domains the caller can access',
      tags,
      response: {
        200: Type.Object({
          domains: Type.Array(
            Type.Object({
              description: Type.String(),
              enabled: Type.Boolean(),
              id: Type.String(),
              links: Type.Object({ self: Type.String() }),
              name: Type.String(),
            }),
          ),
          links: Type.Object({ self: Type.String() }),
        }),
        401: GatewayErrorSchema,
      },
    },
    handler: async (request) => {
      const base = baseUrl(request);
      const domains = await identity.domains(principalOf(request));
      return {
        domains: domains.map((d) => ({
          description: '',
          enabled: true,
          id: d.id,
          links: { self: `${base}/v3/domains/${d.id}` },
          name: d.name,
        })),
        links: { self: `${base}/v3/auth/domains` },
      };
    },
  });
}
