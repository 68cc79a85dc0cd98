import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Store } from '../store/database.js';
import { gatewayBody } from './envelopes.js';
import { GatewayErrorSchema } from './service-schemas.js';

/** Health, readiness and the API description. */
export function registerOpsRoutes(app: FastifyInstance, deps: { store: Store }): void {
  const tags = ['Operations'];

  app.get('/healthz', {
    schema: {
      operationId: 'Healthz',
      summary: 'The process is serving',
      tags,
      response: { 200: Type.Object({ status: Type.Literal('ok') }) },
    },
    handler: async () => ({ status: 'ok' as const }),
  });

  app.get('/readyz', {
    schema: {
      operationId: 'Readyz',
      summary: 'The database answers',
      tags,
      response: { 200: Type.Object({ status: Type.Literal('ready') }), 503: GatewayErrorSchema },
    },
    handler: async (request, reply) => {
      try {
        await deps.store.ping();
        return { status: 'ready' as const };
      } catch (err) {
        request.log.warn({ err }, 'readiness check failed');
        return reply
          .code(503)
          .send(gatewayBody('APIG.0503', 'The database cannot be reached.', request.id));
      }
    },
  });

  app.get('/openapi.json', {
    schema: { hide: true },
    handler: async () => app.swagger(),
  });
}
