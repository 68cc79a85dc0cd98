import type { FastifyRequest } from 'fastify';
import { ADMIN_PRINCIPAL, type ChangeOrigin, eventPrincipal } from '../core/change-event.js';

/**
 * Where a change made by this request comes from, as its events record it: the route's service
 * and operationId, the verified caller (the admin when none), the client's address and the
 * request id.
 */
export function changeOrigin(
  service: string,
  operation: string,
  request: FastifyRequest,
): ChangeOrigin {
  return {
    service,
    operation,
    principal: request.principal ? eventPrincipal(request.principal) : ADMIN_PRINCIPAL,
    sourceIp: request.ip,
    requestId: request.id,
  };
}
