import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AuthenticationError } from '../auth/authenticator.js';
import { ThrottledError } from '../auth/throttle.js';
import { AppError } from '../core/app-error.js';
import { storeFault } from '../store/database.js';
import type { ErrorRenderer } from './envelopes.js';
import {
  GatewayError,
  type GatewayErrorName,
  gatewayBody,
  gatewayReply,
} from './gateway-errors.js';
import './fastify-types.js';

export { GatewayError };

/** Longest URI (path and query, as sent) the gateway takes; a longer one is answered 414. */
export const MAX_URI_BYTES = 32 * 1024;
/** Longest path segment, as sent (percent-encoded); a longer one is answered 400. */
export const MAX_SEGMENT_BYTES = 1024;

function rendererOf(request: FastifyRequest): ErrorRenderer | undefined {
  return request.routeOptions?.config?.errors;
}

const JSON_TYPE = 'application/json; charset=utf-8';

function sendGateway(
  reply: FastifyReply,
  request: FastifyRequest,
  name: GatewayErrorName,
  detail?: string,
) {
  const r = gatewayReply(name, request.id, detail);
  // Not the route's response schema: a gateway answer may take a status the route's own
  // envelope uses (400), and must keep every field of the gateway's.
  return reply.code(r.status).type(JSON_TYPE).serializer(JSON.stringify).send(r.body);
}

/** Store faults the gateway answers for: the store unreachable (502) or too slow (504). */
const STORE_FAULT_ERRORS = {
  unavailable: {
    name: 'backendUnavailable',
    detail: 'the tag store cannot be reached. Retry later.',
  },
  timeout: {
    name: 'backendTimeout',
    detail: 'the tag store did not answer within its time limit. Retry later.',
  },
} as const;

/**
 * What the URI, as sent, breaks of the gateway's limits: over 32 KiB (414), or a path segment
 * over 1,024 bytes (400). Checked on the raw URL, before any decoding.
 */
export function uriProblem(url: string): { name: GatewayErrorName; detail: string } | undefined {
  if (url.length > MAX_URI_BYTES) {
    return {
      name: 'uriTooLarge',
      detail: `the URI is ${url.length} bytes; at most ${MAX_URI_BYTES} are accepted.`,
    };
  }
  // No segment of a URI this short can be over the limit (the common case: no scan).
  if (url.length <= MAX_SEGMENT_BYTES) return undefined;
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  let start = 0;
  while (start <= path.length) {
    let end = path.indexOf('/', start);
    if (end === -1) end = path.length;
    if (end - start > MAX_SEGMENT_BYTES) {
      return {
        name: 'badRequest',
        detail: `a path segment is ${end - start} bytes as sent; at most ${MAX_SEGMENT_BYTES} are accepted.`,
      };
    }
    start = end + 1;
  }
  return undefined;
}

/**
 * Whether `err` is the client closing its connection before its request was complete (Node's
 * "aborted", ECONNRESET, from reading the body), which no answer can reach.
 */
function clientAborted(request: FastifyRequest, err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return (
    (code === 'ECONNRESET' || code === 'ECONNABORTED') &&
    (request.raw.destroyed || request.raw.socket?.destroyed === true) &&
    storeFault(err) === undefined
  );
}

/**
 * One handler renders every error: credentials and gateway conditions in the gateway envelope,
 * domain errors in the envelope of the route's API, anything unexpected as a generic 500 whose
 * details are logged with the request id.
 */
export function installErrorHandler(app: FastifyInstance): void {
  // The gateway refuses a URI it will not parse before any route sees it.
  app.addHook('onRequest', (request, reply, done) => {
    const problem = uriProblem(request.raw.url ?? '');
    if (problem) sendGateway(reply, request, problem.name, problem.detail);
    else done();
  });

  app.setErrorHandler((err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof AuthenticationError) {
      return sendGateway(reply, request, 'unauthorized', err.message);
    }
    if (err instanceof ThrottledError) {
      return sendGateway(reply, request, 'throttled', err.message);
    }
    if (err instanceof GatewayError) {
      return reply
        .code(err.status)
        .type(JSON_TYPE)
        .serializer(JSON.stringify)
        .send(gatewayBody(err.code, err.message, request.id));
    }
    const code = (err as FastifyError).code;
    if (clientAborted(request, err)) {
      // The client's doing, not a fault of the server or its store; nobody is left to answer.
      request.log.info({ method: request.method, url: request.url }, 'client aborted the request');
      return reply.send();
    }
    if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return sendGateway(reply, request, 'bodyTooLarge', 'the body exceeds 1 MiB.');
    }
    const renderer = rendererOf(request);
    if (err instanceof AppError && renderer) {
      const r = renderer.domain(err, request.id);
      return reply.code(r.status).send(r.body);
    }
    const fault = storeFault(err);
    if (fault) {
      // Nothing of the request is answered as done: the transaction did not commit.
      request.log.error({ err }, `store ${fault}`);
      const { name, detail } = STORE_FAULT_ERRORS[fault];
      return sendGateway(reply, request, name, detail);
    }
    if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' && renderer) {
      // Fastify could not even parse the Content-Type: a media-type error, so that a service with
      // a Content-Type rule (DDM) answers its 415 and the others their invalid-parameter code.
      const given = request.headers['content-type'] ?? '';
      const r = renderer.domain(
        new AppError(
          'media_type',
          `Unsupported Content-Type '${given}': it is not a valid media type; send the body as application/json.`,
        ),
        request.id,
      );
      return reply.code(r.status).send(r.body);
    }
    const status = (err as FastifyError).statusCode;
    if (status !== undefined && status >= 400 && status < 500 && renderer) {
      // A request Fastify itself refused (bad framing, a bad Content-Length, …).
      const r = renderer.domain(new AppError('body_malformed', err.message), request.id);
      return reply.code(r.status).send(r.body);
    }
    request.log.error({ err }, 'request failed');
    if (renderer) {
      const r = renderer.internal(request.id);
      return reply.code(r.status).send(r.body);
    }
    return sendGateway(reply, request, 'internal');
  });

  app.setNotFoundHandler((request, reply) =>
    sendGateway(
      reply,
      request,
      'notFound',
      `${request.method} ${(request.url.split('?')[0] ?? '').slice(0, 256)}.`,
    ),
  );
}

/**
 * Requests Fastify refuses before routing them (a path that is not percent-encoded UTF-8, a path
 * parameter longer than the router accepts). No route and no hook runs for them, so they are
 * answered here, in the gateway envelope and with the X-Request-Id every response carries.
 */
export function frameworkErrors(
  err: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  reply.header('X-Request-Id', request.id);
  // The URI limits come first, as for routed requests.
  const problem = uriProblem(request.raw.url ?? '');
  if (problem) {
    sendGateway(reply, request, problem.name, problem.detail);
    return;
  }
  if (err.code === 'FST_ERR_BAD_URL') {
    // Malformed escapes (`%zz`) and escapes of bytes that are not UTF-8 (`%C0%AF`) alike.
    sendGateway(reply, request, 'badRequest', 'the path is not valid percent-encoded UTF-8.');
    return;
  }
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    // Only a segment far over the limit as sent decodes to more than the router takes.
    sendGateway(reply, request, 'badRequest', 'a path segment is too long.');
    return;
  }
  request.log.error({ err }, 'request failed');
  sendGateway(reply, request, 'internal');
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  414: 'URI Too Long',
  431: 'Request Header Fields Too Large',
};

/** The HTTP server's limit on the request line and headers together. */
export const MAX_HEAD_BYTES = 64 * 1024;

/**
 * What a request the parser refused is answered with. The parser counts the request line with
 * the headers: when the line alone is over the URI limit (or does not end within what was
 * read), the URI is what is too large.
 */
function clientErrorOf(err: NodeJS.ErrnoException & { rawPacket?: Buffer }): {
  name: GatewayErrorName;
  detail?: string;
} {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW': {
      const raw = err.rawPacket;
      const lineEnd = raw ? raw.indexOf('\r\n') : -1;
      if (raw && (lineEnd === -1 ? raw.length : lineEnd) > MAX_URI_BYTES) {
        return { name: 'uriTooLarge', detail: `the URI exceeds ${MAX_URI_BYTES} bytes.` };
      }
      return { name: 'headersTooLarge' };
    }
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { name: 'requestTimeout', detail: 'the request was not received in time.' };
    default:
      return { name: 'badRequest', detail: 'the request is not valid HTTP.' };
  }
}

/**
 * Requests the HTTP parser refuses never reach Fastify's request handling; they are answered on
 * the socket, still in the gateway envelope with an X-Request-Id.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) {
    const id = randomBytes(16).toString('hex');
    const { name, detail } = clientErrorOf(err);
    const r = gatewayReply(name, id, detail);
    const body = JSON.stringify(r.body);
    socket.write(
      `HTTP/1.1 ${r.status} ${REASONS[r.status] ?? 'Bad Request'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${id}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
