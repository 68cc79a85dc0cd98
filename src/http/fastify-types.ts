import type { Principal } from '../core/principal.js';
import type { ErrorRenderer } from './envelopes.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** How this route renders its errors; routes without one use the gateway envelope. */
    errors?: ErrorRenderer;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}
