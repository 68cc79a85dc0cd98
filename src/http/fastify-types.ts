import type { Principal } from '../core/principal.js';
import type { ErrorRenderer } from './envelopes.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** How this route renders its errors; routes without one use the gateway envelope. */
    errors?: ErrorRenderer;
    /**
     * The API the route belongs to, as faults match it (`bms`, …, `tms`, `iam`); routes without
     * one (admin, operations) are never faulted.
     */
    service?: string;
    /** The path parameter naming the resource a route addresses, as faults match it. */
    resourceParam?: string;
    /** false: the request log leaves the route's requests out (reads of the log itself). */
    requestLog?: false;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}
