import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { EventFeed } from '../admin/event-feed.js';
import { readEvents, tagsAsOf } from '../admin/events.js';
import { AppError } from '../core/app-error.js';
import type { Store } from '../store/database.js';
import { adminRouteBase } from './admin-routes.js';
import { AdminError, resourceParams } from './admin-schemas.js';
import {
  AsOfQuerySchema,
  AsOfSchema,
  EventPageSchema,
  EventQuerySchema,
  EventStreamQuerySchema,
  readEventFilter,
  readEventQuery,
  readMoment,
} from './event-schemas.js';
import { type EventStreamLimits, EventStreams } from './event-streams.js';
import { GatewayErrorSchema } from './service-schemas.js';
import { compileSchema, routeValidation, type TypeBoxProvider } from './validation.js';

const asOfQuery = compileSchema(AsOfQuerySchema, {
  describe: () => 'Invalid as_of: give it once, as an RFC 3339 time or an event id.',
});

export interface AdminEventRouteDeps {
  readonly store: Store;
  readonly feed: EventFeed;
  readonly streams: EventStreamLimits;
  /** SHA-256 (hex) of the admin token. */
  readonly adminTokenHash: string;
}

/** The change log's admin reads (SPEC §8): the events, and a resource's tags as of a moment. */
export function registerAdminEventRoutes(fastify: FastifyInstance, deps: AdminEventRouteDeps) {
  const app = fastify.withTypeProvider<TypeBoxProvider>();
  const { store } = deps;
  const errors = { 400: AdminError, 401: GatewayErrorSchema, 404: AdminError };
  const { base, tags, security } = adminRouteBase(deps.adminTokenHash);

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

  const streams = new EventStreams(deps.streams);
  fastify.addHook('preClose', async () => streams.closeAll());

  app.get('/admin/v1/events/stream', {
    ...base,
    schema: {
      operationId: 'AdminStreamEvents',
      summary: 'Follow the change log live (Server-Sent Events)',
      description:
        'text/event-stream: each new event matching the filters as `id: <id>`, `event: tag-change`, `data: <event JSON>`, whatever node made the change. With `since` or a `Last-Event-ID` header (which wins), the events after that id come first, so a client that reconnects misses none and receives none twice. A comment line keeps an idle connection open at least every 15 s. Under a steady stream of changes the events come in batches, at least 20 ms apart (longer with many subscribers receiving, up to 1 s); the first change after a quiet spell comes at once.',
      tags,
      security,
      querystring: EventStreamQuerySchema,
      response: {
        200: {
          description: 'The live feed',
          content: {
            'text/event-stream': {
              schema: Type.String({
                description: 'id: <id>\nevent: tag-change\ndata: <event JSON>\n\n, repeated',
              }),
            },
          },
        },
        ...errors,
      },
    },
    handler: async (request, reply) => {
      const { after, ...filter } = readEventFilter(request.query as Record<string, unknown>);
      const resumeFrom = request.headers['last-event-id'];
      let since = after;
      if (typeof resumeFrom === 'string' && resumeFrom.trim() !== '') {
        if (!/^\d{1,18}$/.test(resumeFrom.trim())) {
          throw new AppError('invalid_parameter', `Invalid Last-Event-ID '${resumeFrom}'.`);
        }
        since = Number(resumeFrom.trim());
      }
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-request-id': request.id,
      });
      res.write(': tagplane change log\n\n');
      let unsubscribe: (() => void) | undefined;
      let open = true;
      const stream = streams.add(
        res,
        () => {
          open = false;
          unsubscribe?.();
        },
        () => request.log.info('event stream closed: its client is not reading'),
      );
      try {
        unsubscribe = await deps.feed.subscribe(filter, since, stream);
        if (!open) unsubscribe();
      } catch (err) {
        request.log.error({ err }, 'event stream failed');
        stream.close();
      }
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
