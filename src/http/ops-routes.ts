import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Store } from '../store/database.js';
import { GATEWAY_ERRORS, gatewayBody, gatewayMessage } from './gateway-errors.js';
import { SEED_SCHEMA_PATH, SeedDocument } from './seed-schema.js';
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

  // Serialised once: the schema never changes while the process runs.
  const seedSchema = JSON.stringify({
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: SEED_SCHEMA_PATH,
    ...SeedDocument,
  });
  app.get(SEED_SCHEMA_PATH, {
    schema: {
      operationId: 'SeedSchema',
      summary: 'The JSON Schema of the seed document',
      description:
        'The schema (JSON Schema 2020-12) that `--seed <file>` and POST /admin/v1/seed validate the document with, for editors and validators. Tag rules of each service, policy grammar and references are checked when the seed loads, with messages naming the entry.',
      tags,
      response: {
        200: Type.Unsafe<unknown>({ type: 'object', description: 'A JSON Schema document.' }),
      },
    },
    handler: async (_request, reply) =>
      reply.type('application/schema+json; charset=utf-8').send(seedSchema),
  });

  app.get('/openapi.json', {
    schema: { hide: true },
    handler: async () => app.swagger(),
  });
}
