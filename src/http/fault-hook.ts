import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import type { FaultInjector } from '../admin/faults.js';
import './fastify-types.js';

/** The operationIds of the routes faults can match, by API. */
export class FaultTargets {
  private readonly byService = new Map<string, Set<string>>();

  add(service: string, operation: string): void {
    let ops = this.byService.get(service);
    if (!ops) {
      ops = new Set();
      this.byService.set(service, ops);
    }
    ops.add(operation);
  }

  /** Why a fault's service and operation can never match a route, or undefined. */
  problem(service: string | undefined, operation: string | undefined): string | undefined {
    if (operation === undefined) return undefined;
    if (service !== undefined) {
      return this.byService.get(service)?.has(operation)
        ? undefined
        : `'match.operation' '${operation}' is not an operation of '${service}' (see the operationIds in /openapi.json).`;
    }
    for (const ops of this.byService.values()) if (ops.has(operation)) return undefined;
    return `'match.operation' '${operation}' is not the operationId of any service, TMS or IAM route (see /openapi.json).`;
  }
}

/**
 * Applies injected faults to every route that names its API (`config.service`): service, TMS and
 * IAM routes; never the admin or operations routes. Decided before the handler runs: a fault
 * with an error answers it and the handler never runs, so the request changes nothing. Must be
 * installed before the routes are registered.
 */
export function installFaults(
  app: FastifyInstance,
  injector: FaultInjector,
  targets: FaultTargets,
): void {
  app.addHook('onRoute', (route) => {
    const service = route.config?.service;
    const operation = (route.schema as { operationId?: string } | undefined)?.operationId;
    if (service !== undefined && operation !== undefined) targets.add(service, operation);
  });

  app.addHook('preHandler', async (request, reply) => {
    const config = request.routeOptions.config;
    const service = config.service;
    if (service === undefined || injector.idle()) return;
    const params = (request.params ?? {}) as Record<string, string | undefined>;
    const url = request.raw.url ?? request.url;
    const q = url.indexOf('?');
    const fault = await injector.fire({
      service,
      operation: (request.routeOptions.schema as { operationId?: string } | undefined)?.operationId,
      method: request.method,
      path: q === -1 ? url : url.slice(0, q),
      projectId: params.project_id,
      resourceId: config.resourceParam !== undefined ? params[config.resourceParam] : undefined,
    });
    if (!fault) return;
    request.log.info({ fault: fault.id }, 'injected fault fired');
    if (fault.latencyMs > 0) await sleep(fault.latencyMs);
    if (!fault.error || !config.errors) return;
    const r = config.errors.injected(fault.error, request.id);
    // Not the route's response schema: the answer may be in another envelope than its own.
    return reply
      .code(r.status)
      .type('application/json; charset=utf-8')
      .serializer(JSON.stringify)
      .send(r.body);
  });
}
