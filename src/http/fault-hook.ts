import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerHookHandler } from 'fastify';
import type { FaultInjector } from '../admin/faults.js';
import type { ErrorRenderer } from './envelopes.js';
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

/** What a faulted route states about itself, read once when it is registered. */
interface FaultedRoute {
  readonly service: string;
  readonly operation: string | undefined;
  readonly resourceParam: string | undefined;
  readonly errors: ErrorRenderer | undefined;
}

/**
 * Applies the fault that fires for a request, if any; true when it answered the request (the
 * handler must then not run).
 */
async function applyFault(
  injector: FaultInjector,
  route: FaultedRoute,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<boolean> {
  const params = (request.params ?? {}) as Record<string, string | undefined>;
  const url = request.raw.url ?? request.url;
  const q = url.indexOf('?');
  const fault = await injector.fire({
    service: route.service,
    operation: route.operation,
    method: request.method,
    path: q === -1 ? url : url.slice(0, q),
    projectId: params.project_id,
    resourceId: route.resourceParam !== undefined ? params[route.resourceParam] : undefined,
  });
  if (!fault) return false;
  request.log.info({ fault: fault.id }, 'injected fault fired');
  if (fault.latencyMs > 0) await sleep(fault.latencyMs);
  if (!fault.error || !route.errors) return false;
  const r = route.errors.injected(fault.error, request.id);
  // Not the route's response schema: the answer may be in another envelope than its own.
  reply
    .code(r.status)
    .type('application/json; charset=utf-8')
    .serializer(JSON.stringify)
    .send(r.body);
  return true;
}

/**
 * Applies injected faults to every route that names its API (`config.service`): service, TMS and
 * IAM routes; never the admin or operations routes. Decided before the handler runs: a fault
 * with an error answers it and the handler never runs, so the request changes nothing. Must be
 * installed before the routes are registered.
 *
 * The check is a hook of each such route (after the app's own preHandler hooks, as a hook added
 * to the app would run), with what the route states read once here; while no fault is set it
 * answers from memory without a promise, so faults cost a request nothing until one is set.
 */
export function installFaults(
  app: FastifyInstance,
  injector: FaultInjector,
  targets: FaultTargets,
): void {
  app.addHook('onRoute', (route) => {
    const service = route.config?.service;
    if (service === undefined) return;
    const operation = (route.schema as { operationId?: string } | undefined)?.operationId;
    if (operation !== undefined) targets.add(service, operation);
    const faulted: FaultedRoute = {
      service,
      operation,
      resourceParam: route.config?.resourceParam,
      errors: route.config?.errors,
    };
    const hook: preHandlerHookHandler = (request, reply, done) => {
      if (injector.idle()) {
        done();
        return;
      }
      applyFault(injector, faulted, request, reply).then((answered) => {
        if (!answered) done();
      }, done);
    };
    const own = route.preHandler;
    route.preHandler = own === undefined ? [hook] : [hook, ...(Array.isArray(own) ? own : [own])];
  });
}
