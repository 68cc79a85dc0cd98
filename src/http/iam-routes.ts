import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Authenticator } from '../auth/authenticator.js';
import { IdentityError, type IdentityService } from '../auth/identity-service.js';
import { keystoneBody, keystoneRenderer } from './envelopes.js';
import { GatewayErrorSchema } from './service-schemas.js';
import { signable } from './signable.js';

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
export function registerIamRoutes(app: FastifyInstance, deps: IamRouteDeps): void {
  const { identity, authenticator } = deps;
  const config = { errors: keystoneRenderer };
  const tags = ['IAM'];

  app.post('/v3/auth/tokens', {
    config,
    schema: {
      operationId: 'KeystoneCreateUserTokenByPassword',
      summary: 'Obtain a token with a password (project or domain scope, valid 24 h)',
      description:
        "The token is returned in the X-Subject-Token header. User by name with domain (id or name), or by id. Scope: project by id, or by name (in the user's domain unless given); or domain. A wrong user name, domain or password answers 401 'The username or password is wrong.', the same answer in about the same time whether or not the user exists. After 5 failed logins of a user within 15 minutes (the 5th still answers 'wrong'), the user is locked for 15 minutes: every login then answers 401 'The account is locked.', even with the right password; a successful login before that resets the count (server flag --login-lockout).",
      tags,
      body: Type.Object({ auth: Type.Object({}) }),
      response: { 201: TokenBody, 400: KeystoneError, 401: KeystoneError },
    },
    handler: async (request, reply) => {
      try {
        const raw = request.body as Buffer | undefined;
        let body: unknown;
        try {
          body = JSON.parse(raw?.toString('utf8') ?? '');
        } catch {
          throw new IdentityError(400, 'The request body is invalid: it is not JSON.');
        }
        const { token, description } = await identity.issue(body);
        return reply.code(201).header('X-Subject-Token', token).send(description);
      } catch (err) {
        return sendIdentityError(reply, err);
      }
    },
  });

  const verifySubject = async (request: FastifyRequest, reply: FastifyReply, withBody: boolean) => {
    await authenticator.authenticate(signable(request));
    const subject = request.headers['x-subject-token'];
    const description = typeof subject === 'string' ? await identity.describe(subject) : undefined;
    if (!description) {
      return reply.code(404).send(keystoneBody(404, 'X-Subject-Token is invalid in the request'));
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
      tags,
      response: { 200: TokenBody, 401: GatewayErrorSchema, 404: KeystoneError },
    },
    // HEAD is answered by the same route (Fastify's exposeHeadRoutes), without the body.
    handler: async (request, reply) => verifySubject(request, reply, request.method !== 'HEAD'),
  });

  app.get('/v3/projects', {
    config,
    schema: {
      operationId: 'KeystoneListProjects',
      summary: "List the caller's projects, optionally by name (SDK project-id discovery)",
      tags,
      querystring: Type.Object({ name: Type.Optional(Type.String()) }),
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
    handler: async (request, reply) => {
      const principal = await authenticator.authenticate(signable(request));
      const { name } = request.query as { name?: string | string[] };
      if (name !== undefined && typeof name !== 'string') {
        return reply
          .code(400)
          .send(keystoneBody(400, 'Request parameter name is invalid: give it once.'));
      }
      const base = baseUrl(request);
      const projects = await identity.projects(principal, name);
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
      const principal = await authenticator.authenticate(signable(request));
      const base = baseUrl(request);
      const regions = await identity.regions(principal);
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
      const principal = await authenticator.authenticate(signable(request));
      const base = baseUrl(request);
      const domains = await identity.domains(principal);
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
