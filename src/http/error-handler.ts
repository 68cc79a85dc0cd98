import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AuthenticationError } from '../auth/authenticator.js';
import { isStoreUnavailable } from '../store/database.js';
import { TagError } from '../tags/tag-error.js';
import { type ErrorRenderer, gatewayBody } from './envelopes.js';
import './fastify-types.js';

export { isStoreUnavailable };

/** An error answered in the gateway envelope. */
export class GatewayError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'GatewayError';
  }
}

export const BODY_TOO_LARGE_MESSAGE = 'Request entity too large: the body exceeds 1 MiB.';

function rendererOf(request: FastifyRequest): ErrorRenderer | undefined {
  return request.routeOptions?.config?.errors;
}

/**
 * One handler renders every error: credentials and gateway conditions in the gateway envelope,
 * domain errors in the envelope of the route's API, anything unexpected as a generic 500 whose
 * details are logged with the request id.
 */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) => {
    const id = request.id;
    if (err instanceof AuthenticationError) {
      return reply
        .code(401)
        .send(
          gatewayBody('APIG.0301', `Incorrect IAM authentication information: ${err.message}`, id),
        );
    }
    if (err instanceof GatewayError) {
      return reply.code(err.status).send(gatewayBody(err.code, err.message, id));
    }
    const code = (err as FastifyError).code;
    if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.code(413).send(gatewayBody('APIG.0201', BODY_TOO_LARGE_MESSAGE, id));
    }
    const renderer = rendererOf(request);
    if (err instanceof TagError && renderer) {
      const r = renderer.domain(err, id);
      return reply.code(r.status).send(r.body);
    }
    if (isStoreUnavailable(err)) {
      request.log.error({ err }, 'database unavailable');
      return reply
        .code(503)
        .send(
          gatewayBody(
            'APIG.0503',
            String(code).startsWith('SQLITE_')
              ? 'The service is temporarily unavailable: the database is busy or cannot be written. Retry later.'
              : 'The service is temporarily unavailable: the database cannot be reached. Retry later.',
            id,
          ),
        );
    }
    if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' && renderer) {
      // Fastify could not even parse the Content-Type: a media-type error, so that a service with
      // a Content-Type rule (DDM) answers its 415 and the others their invalid-parameter code.
      const given = request.headers['content-type'] ?? '';
      const r = renderer.domain(
        new TagError(
          'media_type',
          `Unsupported Content-Type '${given}': it is not a valid media type; send the body as application/json.`,
        ),
        id,
      );
      return reply.code(r.status).send(r.body);
    }
    const status = (err as FastifyError).statusCode;
    if (status !== undefined && status >= 400 && status < 500 && renderer) {
      // A request Fastify itself refused (bad framing, a bad Content-Length, …).
      const r = renderer.domain(new TagError('body_malformed', err.message), id);
      return reply.code(r.status).send(r.body);
    }
    request.log.error({ err }, 'request failed');
    if (renderer) {
      const r = renderer.internal(id);
      return reply.code(r.status).send(r.body);
    }
    return reply.code(500).send(gatewayBody('APIG.0500', 'Internal server error.', id));
  });

  app.setNotFoundHandler((request, reply) => {
    reply
      .code(404)
      .send(
        gatewayBody(
          'APIG.0101',
          `The API does not exist: ${request.method} ${request.url.split('?')[0]}.`,
          request.id,
        ),
      );
  });
}

/**
 * Requests Fastify refuses before routing them (a path that is not valid percent-encoding, a path
 * parameter longer than the router accepts). No route and no hook runs for them, so they are
 * answered here, in the gateway envelope and with the X-Request-Id every response carries.
 */
export function frameworkErrors(
  err: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const id = request.id;
  reply.header('X-Request-Id', id);
  if (err.code === 'FST_ERR_BAD_URL') {
    reply
      .code(400)
      .send(gatewayBody('APIG.0201', 'Bad request: the path is not valid percent-encoding.', id));
    return;
  }
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    reply
      .code(414)
      .send(gatewayBody('APIG.0201', 'Request URI too large: a path segment is too long.', id));
    return;
  }
  request.log.error({ err }, 'request failed');
  reply.code(500).send(gatewayBody('APIG.0500', 'Internal server error.', id));
}

const CLIENT_ERRORS: Record<string, { status: number; text: string; message: string }> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    text: 'Request Header Fields Too Large',
    message: 'Request headers too large.',
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    text: 'Request Timeout',
    message: 'The request was not received in time.',
  },
};

/**
 * Requests the HTTP parser refuses never reach Fastify's request handling; they are answered on
 * the socket, still in the gateway envelope with an X-Request-Id.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const known = CLIENT_ERRORS[err.code ?? ''] ?? {
    status: 400,
    text: 'Bad Request',
    message: 'API request error: the request is not valid HTTP.',
  };
  if (socket.writable) {
    const id = randomBytes(16).toString('hex');
    const body = JSON.stringify(gatewayBody('APIG.0201', known.message, id));
    socket.write(
      `HTTP/1.1 ${known.status} ${known.text}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${id}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
