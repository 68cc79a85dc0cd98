import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Store } from '../store/database.js';
import { GATEWAY_ERRORS, gatewayBody, gatewayMessage } from './gateway-errors.js';
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
      description:
        'Readiness, for load balancers and orchestrators (not a gateway route): 200 while the database answers, else 503 with the gateway envelope of an unreachable backend (APIG.0202).',
      tags,
      response: { 200: Type.Object({ status: Type.Literal('ready') }), 503: GatewayErrorSchema },
    },
    handler: async (request, reply) => {
      try {
        await deps.store.ping();
        return { status: 'ready' as const };
      } catch (err) {
        request.log.warn({ err }, 'readiness check failed');
        // 503, the status readiness probes expect, with the code of an unreachable backend.
        const { code } = GATEWAY_ERRORS.backendUnavailable;
        return reply
          .code(503)
          .send(
            gatewayBody(
              code,
              gatewayMessage('backendUnavailable', 'the database cannot be reached.'),
              request.id,
            ),
          );
      }
    },
  });

  app.get('/openapi.json', {
    schema: { hide: true },
    handler: async () => app.swagger(),
  });
}
