import type { FastifyInstance } from 'fastify';
import { readEvents, tagsAsOf } from '../admin/events.js';
import type { Store } from '../store/database.js';
import { adminGuard } from './admin-routes.js';
import { AdminError, resourceParams } from './admin-schemas.js';
import { adminRenderer } from './envelopes.js';
import {
  AsOfQuerySchema,
  AsOfSchema,
  EventPageSchema,
  EventQuerySchema,
  readEventQuery,
  readMoment,
} from './event-schemas.js';
import { GatewayErrorSchema } from './service-schemas.js';
import { compileSchema, routeValidation, type TypeBoxProvider } from './validation.js';

const asOfQuery = compileSchema(AsOfQuerySchema, {
  describe: () => 'Invalid as_of: give it once, as an RFC 3339 time or an event id.',
});

export interface AdminEventRouteDeps {
  readonly store: Store;
  /** SHA-256 (hex) of the admin token. */
  readonly adminTokenHash: string;
}

/** The change log's admin reads (SPEC §8): the events, and a resource's tags as of a moment. */
export function registerAdminEventRoutes(fastify: FastifyInstance, deps: AdminEventRouteDeps) {
  const app = fastify.withTypeProvider<TypeBoxProvider>();
  const { store } = deps;
  const errors = { 400: AdminError, 401: GatewayErrorSchema, 404: AdminError };
  const base = {
    config: { errors: adminRenderer },
    preValidation: adminGuard(deps.adminTokenHash),
  };
  const tags = ['Admin'];
  const security = [{ admin: [] }];

  app.get('/admin/v1/events', {
    ...base,
    schema: {
      operationId: 'AdminListEvents',
      summary: 'Read the change log: one event per changed resource, filtered and paged',
      description:
        'Every committed tag change, whatever node or route made it. Filters combine. Passing next_marker back as since (order=asc, the default) or before (order=desc) walks the whole log exactly once.',
      tags,
      security,
      querystring: EventQuerySchema,
      response: { 200: EventPageSchema, ...errors },
    },
    handler: async (request) => {
      const { filter, order, limit } = readEventQuery(request.query as Record<string, unknown>);
      const page = await readEvents(store, filter, order, limit);
      return { events: page.events, next_marker: page.nextMarker };
    },
  });

  app.get('/admin/v1/projects/:project_id/resources/:type/:id/tags', {
    ...base,
    validatorCompiler: routeValidation({
      params: { compiled: resourceParams },
      querystring: { compiled: asOfQuery },
    }),
    schema: {
      operationId: 'AdminResourceTagsAsOf',
      summary: 'A resource’s tags as they were at a moment (an RFC 3339 time or an event id)',
      description:
        'Also after the resource was deregistered. as_of older than what the change log keeps (--event-retention) is answered 400.',
      tags,
      security,
      params: resourceParams.schema,
      querystring: asOfQuery.schema,
      response: { 200: AsOfSchema, ...errors },
    },
    handler: async (request) => {
      const { project_id: projectId, type, id } = request.params;
      const moment = readMoment(request.query as Record<string, unknown>) ?? {
        id: Number.MAX_SAFE_INTEGER,
      };
      const { tags: current, asOfEvent } = await tagsAsOf(store, projectId, type, id, moment);
      return { tags: current, as_of_event: asOfEvent };
    },
  });
}
