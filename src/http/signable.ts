import type { FastifyRequest } from 'fastify';
import type { SignableRequest } from '../auth/canonical-request.js';

const EMPTY = Buffer.alloc(0);

/** The request as a signature covers it: the path and query exactly as sent, the raw body. */
export function signable(request: FastifyRequest): SignableRequest {
  const raw = request.raw.url ?? '/';
  const q = raw.indexOf('?');
  return {
    method: request.method,
    rawPath: q < 0 ? raw : raw.slice(0, q),
    rawQuery: q < 0 ? '' : raw.slice(q + 1),
    headers: request.headers,
    body: Buffer.isBuffer(request.body) ? request.body : EMPTY,
  };
}
