import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { VERSION } from '../core/version.js';
import type { Store } from '../store/database.js';
import { GATEWAY_ERRORS, gatewayBody, gatewayMessage } from './gateway-errors.js';
import { SEED_SCHEMA_PATH, SeedDocument } from './seed-schema.js';
import { GatewayErrorSchema } from './service-schemas.js';

/** Where a client goes from `/`. The console is not built yet: browsers go to the reference. */
export const HOME_LINKS = {
  console: '/console/',
  docs: '/docs',
  openapi: '/openapi.json',
  health: '/healthz',
} as const;

/** Whether the client asked for a web page first (a browser's address bar does). */
function wantsHtml(accept: string | undefined): boolean {
  return accept !== undefined && /(^|,)\s*text\/html\s*(;|,|$)/i.test(accept);
}

/** The home page, health, readiness and the API description. */
export function registerOpsRoutes(app: FastifyInstance, deps: { store: Store }): void {
  const tags = ['Operations'];

  app.get('/', {
    schema: {
      operationId: 'Home',
      summary: 'What this server is, its version and where to go',
      description:
        'A browser (`Accept: text/html`) is redirected (302) to the API reference at `/docs`; the web console (`/console/`) is not built yet. Other clients get the name, the version and the links.',
      tags,
      response: {
        200: Type.Object({
          name: Type.Literal('tagplane'),
          version: Type.String({ examples: ['0.1.0'] }),
          links: Type.Object({
            console: Type.String(),
            docs: Type.String(),
            openapi: Type.String(),
            health: Type.String(),
          }),
        }),
        302: Type.Null({ description: 'To `/docs`; the `Location` header says where.' }),
      },
    },
    handler: async (request, reply) => {
      if (wantsHtml(request.headers.accept)) return reply.redirect(HOME_LINKS.docs, 302);
      return { name: 'tagplane' as const, version: VERSION, links: HOME_LINKS };
    },
  });

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
