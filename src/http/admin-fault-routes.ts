import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { FaultInjector } from '../admin/faults.js';
import { AppError } from '../core/app-error.js';
import { adminRouteBase } from './admin-routes.js';
import { AdminError } from './admin-schemas.js';
import type { FaultTargets } from './fault-hook.js';
import {
  FaultList,
  FaultView,
  faultBody,
  faultJson,
  faultParams,
  faultSpec,
} from './fault-schemas.js';
import { GatewayErrorSchema } from './service-schemas.js';
import { jsonObjectBody, routeValidation, type TypeBoxProvider } from './validation.js';

export interface AdminFaultRouteDeps {
  readonly faults: FaultInjector;
  readonly targets: FaultTargets;
  /** SHA-256 (hex) of the admin token. */
  readonly adminTokenHash: string;
}

/** Fault injection: errors and delays for matching requests, on every node of the database. */
export function registerAdminFaultRoutes(
  fastify: FastifyInstance,
  deps: AdminFaultRouteDeps,
): void {
  const app = fastify.withTypeProvider<TypeBoxProvider>();
  const { faults, targets } = deps;
  const errors = { 400: AdminError, 401: GatewayErrorSchema, 404: AdminError };
  const { base, tags, security } = adminRouteBase(deps.adminTokenHash);

  app.post('/admin/v1/faults', {
    ...base,
    validatorCompiler: routeValidation({ body: { compiled: faultBody, read: jsonObjectBody } }),
    schema: {
      operationId: 'AdminCreateFault',
      summary: 'Inject a fault: an error or a delay for the requests it matches',
      description:
        'A matching service, TMS or IAM request waits `latency_ms`, then, with an `error`, is answered that error before its handler runs, so it changes nothing. Faults are kept in the store: they hold on every node, and `count` is exact across nodes. Faults are tried oldest first; one fires per request.',
      tags,
      security,
      body: faultBody.schema,
      response: { 201: FaultView, ...errors },
    },
    handler: async (request, reply) => {
      const spec = faultSpec(request.body);
      const problem = targets.problem(spec.match.service, spec.match.operation);
      if (problem) throw new AppError('invalid_parameter', problem);
      if (!spec.error && spec.latencyMs === 0) {
        throw new AppError(
          'invalid_parameter',
          "A fault needs an 'error', a 'latency_ms' above 0, or both.",
        );
      }
      return reply.code(201).send(faultJson(await faults.create(spec)));
    },
  });

  app.get('/admin/v1/faults', {
    ...base,
    schema: {
      operationId: 'AdminListFaults',
      summary: 'List the faults that have not expired, oldest first, with how often each fired',
      tags,
      security,
      response: { 200: FaultList, ...errors },
    },
    handler: async () => ({ faults: (await faults.list()).map(faultJson) }),
  });

  app.delete('/admin/v1/faults/:id', {
    ...base,
    validatorCompiler: routeValidation({ params: { compiled: faultParams } }),
    schema: {
      operationId: 'AdminDeleteFault',
      summary: 'Remove a fault',
      tags,
      security,
      params: faultParams.schema,
      response: { 204: Type.Null(), ...errors },
    },
    handler: async (request, reply) => {
      await faults.delete(request.params.id);
      return reply.code(204).send(null);
    },
  });

  app.delete('/admin/v1/faults', {
    ...base,
    schema: {
      operationId: 'AdminDeleteFaults',
      summary: 'Remove every fault',
      tags,
      security,
      response: { 204: Type.Null(), ...errors },
    },
    handler: async (_request, reply) => {
      await faults.clear();
      return reply.code(204).send(null);
    },
  });
}
