import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { adminGuard } from './admin-routes.js';
import { AdminError } from './admin-schemas.js';
import { adminRenderer } from './envelopes.js';
import { FAULT_SERVICES } from './fault-schemas.js';
import type { RequestLog } from './request-log.js';
import { GatewayErrorSchema } from './service-schemas.js';
import { compileSchema, routeValidation, type TypeBoxProvider } from './validation.js';

export const DEFAULT_LOG_LIMIT = 100;

const RequestLogQuery = Type.Object({
  limit: Type.Optional(
    Type.String({
      pattern: '^[1-9][0-9]{0,6}$',
      description: `How many requests at most (default ${DEFAULT_LOG_LIMIT}).`,
    }),
  ),
  status: Type.Optional(
    Type.String({
      pattern: '^[1-5]([0-9][0-9]|xx)$',
      description: 'Only this status (`429`) or class (`5xx`).',
    }),
  ),
  service: Type.Optional(
    Type.Unsafe<string>(
      Type.Union(
        FAULT_SERVICES.map((s) => Type.Literal(s)),
        { description: 'Only requests to this API: a service id, `tms` or `iam`.' },
      ),
    ),
  ),
});

const MESSAGES: Record<string, string> = {
  limit: "'limit' must be a whole number of at least 1.",
  status: "'status' must be an HTTP status (404) or a class (4xx).",
  service: `'service' must be one of ${FAULT_SERVICES.join(', ')}.`,
};

const requestLogQuery = compileSchema(RequestLogQuery, {
  describe: (f) => MESSAGES[String(f.path[0])] ?? `'${String(f.path[0])}' is not valid.`,
});

const RequestLogEntrySchema = Type.Object({
  time: Type.String({ description: 'When the request arrived (ISO 8601).' }),
  method: Type.String(),
  path: Type.String({ description: 'The path as sent, without the query.' }),
  status: Type.Integer(),
  error_code: Type.Union([Type.String(), Type.Null()]),
  duration_ms: Type.Number(),
  principal: Type.Union([Type.String(), Type.Null()], {
    description: 'The id of the authenticated user, if any.',
  }),
  request_id: Type.String(),
  service: Type.Union([Type.String(), Type.Null()], {
    description: 'The API of the route: a service id, `tms` or `iam`; null for others.',
  }),
});

/** GET /admin/v1/requests: this node's last requests, newest first. */
export function registerAdminRequestLogRoutes(
  fastify: FastifyInstance,
  deps: { readonly log: RequestLog; readonly adminTokenHash: string },
): void {
  const app = fastify.withTypeProvider<TypeBoxProvider>();
  app.get('/admin/v1/requests', {
    config: { errors: adminRenderer, requestLog: false },
    preValidation: adminGuard(deps.adminTokenHash),
    validatorCompiler: routeValidation({ querystring: { compiled: requestLogQuery } }),
    schema: {
      operationId: 'AdminListRequests',
      summary: "This node's last requests, newest first (never a header, a body or the query)",
      description: `Kept in a ring of \`--request-log\` entries (default 1000) per node; reads of this log are not in it.`,
      tags: ['Admin'],
      security: [{ admin: [] }],
      querystring: requestLogQuery.schema,
      response: {
        200: Type.Object({ requests: Type.Array(RequestLogEntrySchema) }),
        400: AdminError,
        401: GatewayErrorSchema,
      },
    },
    handler: async (request) => {
      const q = request.query;
      return {
        requests: deps.log.recent({
          limit: q.limit !== undefined ? Number(q.limit) : DEFAULT_LOG_LIMIT,
          ...(q.status !== undefined ? { status: q.status } : {}),
          ...(q.service !== undefined ? { service: q.service } : {}),
        }),
      };
    },
  });
}
