import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { CredentialAdmin } from './admin/credentials.js';
import { EventFeed } from './admin/event-feed.js';
import { startEventRetention } from './admin/event-retention.js';
import { FaultInjector } from './admin/faults.js';
import {
  AccessKeyLockout,
  type AccessKeyLockoutPolicy,
  DEFAULT_AKSK_LOCKOUT,
} from './auth/access-key-lockout.js';
import { Authenticator, type AuthMode } from './auth/authenticator.js';
import { IdentityCache } from './auth/identity-cache.js';
import { IdentityService } from './auth/identity-service.js';
import {
  DEFAULT_LOGIN_LOCKOUT,
  LoginLockout,
  type LoginLockoutPolicy,
} from './auth/login-lockout.js';
import { PolicyAuthorizer } from './auth/policy-authorizer.js';
import type { SecretBox } from './auth/secret-box.js';
import { Throttle } from './auth/throttle.js';
import type { TokenSigner } from './auth/tokens.js';
import { DEFAULT_REQUEST_LOG } from './config.js';
import { registerAdminEventRoutes } from './http/admin-event-routes.js';
import { registerAdminFaultRoutes } from './http/admin-fault-routes.js';
import { registerAdminIdentityRoutes } from './http/admin-identity-routes.js';
import { registerAdminRequestLogRoutes } from './http/admin-request-log-routes.js';
import { registerAdminRoutes } from './http/admin-routes.js';
import { registerAdminTenancyRoutes } from './http/admin-tenancy-routes.js';
import { registerCtsRoutes } from './http/cts-routes.js';
import {
  clientErrorHandler,
  frameworkErrors,
  installErrorHandler,
  MAX_HEAD_BYTES,
} from './http/error-handler.js';
import { sseMessage } from './http/event-streams.js';
import { FaultTargets, installFaults } from './http/fault-hook.js';
import { registerIamRoutes } from './http/iam-routes.js';
import { checkIdentifiers } from './http/identifier-check.js';
import { openApiDocument } from './http/openapi.js';
import { registerOpsRoutes } from './http/ops-routes.js';
import { installRequestLog, RequestLog } from './http/request-log.js';
import { registerServiceRoutes } from './http/service-routes.js';
import { registerTmsRoutes } from './http/tms-routes.js';
import { PROFILES } from './services/registry.js';
import type { Store } from './store/database.js';
import { CrossServiceTags } from './tags/cross-service.js';
import { TagEngine } from './tags/tag-engine.js';

export const BODY_LIMIT = 1024 * 1024;

export interface AppOptions {
  readonly auth: AuthMode;
  /** Login lockout; null: off; absent: IAM's (5 failures in 15 minutes lock for 15). */
  readonly loginLockout?: LoginLockoutPolicy | null;
  /** Access-key lockout; null: off; absent: the gateway's (more than 5 lock for 5 minutes). */
  readonly akskLockout?: AccessKeyLockoutPolicy | null;
  /** How often an idle live event feed sends a keep-alive comment (default 10 s). */
  readonly eventKeepAliveMs?: number;
  /**
   * A live event feed whose client leaves more than this many bytes unread on the server is
   * closed (the client resumes with Last-Event-ID; default 1 MiB).
   */
  readonly eventStreamMaxUnreadBytes?: number;
  /** Days of change log kept; older events are pruned in the background. 0 or absent: all. */
  readonly eventRetentionDays?: number;
  /**
   * Requests per second per credential (access key, or a token's user), with bursts of as many;
   * excess calls are answered 429 APIG.0308. Absent or null: unlimited.
   */
  readonly rateLimit?: number | null;
  /** How many of its last requests the app keeps for GET /admin/v1/requests (default 1000). */
  readonly requestLog?: number;
  /** Connection time limits; absent: the gateway's (see `DEFAULT_CONNECTION_LIMITS`). */
  readonly connections?: ConnectionLimits;
}

const EVENT_KEEP_ALIVE_MS = 10_000;
const EVENT_STREAM_MAX_UNREAD_BYTES = 1024 * 1024;

/** How long the server waits on a client. */
export interface ConnectionLimits {
  /** A connection with no request in progress and nothing sent for this long is closed. */
  readonly idleTimeoutMs: number;
  /**
   * A request whose headers and body have not all arrived this long after it began is answered
   * 408 APIG.0201 and its connection closed.
   */
  readonly requestTimeoutMs: number;
}

/** The gateway's: idle connections closed after 75 s, requests received within 30 s. */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = Object.freeze({
  idleTimeoutMs: 75_000,
  requestTimeoutMs: 30_000,
});

export interface AppDeps {
  readonly store: Store;
  readonly secrets: SecretBox;
  readonly tokens: TokenSigner;
  /** SHA-256 (hex) of the admin token. */
  readonly adminTokenHash: string;
  readonly logger?: FastifyBaseLogger;
  readonly now?: () => number;
}

const REQUEST_ID = /^[\x20-\x7e]{1,128}$/;

/**
 * Fresh request ids are 32 hex digits, as the clouds' are: 16 random per process, then a
 * counter. Unique without reading the random source on every request.
 */
const ID_PREFIX = randomBytes(8).toString('hex');
let idCounter = 0;

/** A request id: the client's own when it sent a usable one, else a fresh one. */
function requestId(req: { headers: Record<string, string | string[] | undefined> }): string {
  const given = req.headers['x-request-id'];
  if (typeof given === 'string' && REQUEST_ID.test(given)) return given;
  idCounter = (idCounter + 1) % 0x1_0000_0000_0000;
  return ID_PREFIX + idCounter.toString(16).padStart(16, '0');
}

function carriesBody(headers: Record<string, string | string[] | undefined>): boolean {
  const length = headers['content-length'];
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

const bodyTooLarge = () =>
  Object.assign(new Error('Request body is too large'), {
    code: 'FST_ERR_CTP_BODY_TOO_LARGE',
    statusCode: 413,
  });

/** A request's body, refused past `limit` bytes as Fastify refuses other bodies (413). */
function readBody(stream: Readable, declared: string | undefined, limit: number): Promise<Buffer> {
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(bodyTooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        stop();
        stream.pause();
        reject(bodyTooLarge());
      } else {
        chunks.push(chunk);
      }
    };
    const onEnd = () => {
      stop();
      resolve(Buffer.concat(chunks));
    };
    const onError = (err: Error) => {
      stop();
      reject(err);
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
  });
}

/**
 * One compact line per request; never headers or bodies, which may carry secrets.
 *
 * `lines`: the app's logger without its redaction, for the line of a request that did not fail.
 * That line holds the request id, method, URL, status and time and nothing nested, which no
 * redaction path can match; the redaction's wildcard paths would still walk each of its fields,
 * about 2.5 µs per request. The line is the same as through the request's own logger (the
 * request id as its first field). A failed request's line, which carries the error, goes through
 * the request's logger and its redaction.
 */
class CompactLogs extends LogController {
  constructor(private readonly lines: FastifyBaseLogger | undefined) {
    super();
  }

  override incomingRequest(): void {}
  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const ms = Math.round(reply.elapsedTime * 100) / 100;
    if (error) {
      reply.log.error(
        { method: request.method, url: request.url, status: reply.statusCode, ms, err: error },
        'request failed',
      );
    } else if (this.lines) {
      this.lines.info(
        {
          reqId: request.id,
          method: request.method,
          url: request.url,
          status: reply.statusCode,
          ms,
        },
        'request',
      );
    } else {
      reply.log.info(
        { method: request.method, url: request.url, status: reply.statusCode, ms },
        'request',
      );
    }
  }
}

/** Builds the server without listening: the CLI, the tests and the OpenAPI export share it. */
export async function buildApp(options: AppOptions, deps: AppDeps): Promise<FastifyInstance> {
  const limits = options.connections ?? DEFAULT_CONNECTION_LIMITS;
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    logController: new CompactLogs(deps.logger?.child({}, { redact: [] })),
    genReqId: requestId,
    frameworkErrors,
    bodyLimit: BODY_LIMIT,
    routerOptions: { maxParamLength: 2048, ignoreTrailingSlash: true },
    clientErrorHandler,
    // Between requests, a keep-alive connection is closed after the idle time; a connection on
    // which nothing moves at all (not even the bytes of a request) after the same time.
    keepAliveTimeout: limits.idleTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    http: {
      // Room for a URI of 32 KiB (a longer one is answered 414) and the headers after it.
      maxHeaderSize: MAX_HEAD_BYTES,
      headersTimeout: limits.requestTimeoutMs,
      // How often the server looks for requests past their time: a small part of the limit, so
      // that a request is refused close to its time rather than up to 30 s late.
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, limits.requestTimeoutMs / 10)),
    },
    // Request parts are checked by the app's own compiled TypeBox schemas (http/validation.ts),
    // never by Ajv: each fault gets the code of the API that owns the route.
    ajv: { customOptions: { strict: false } },
  }) as unknown as FastifyInstance;

  // Routes without a compiler of their own read their parts in the handler, each at the step its
  // API checks it (a service body after the caller is admitted), with schemas compiled once.
  app.setValidatorCompiler(() => () => true);
  app.removeAllContentTypeParsers();
  // Bodies stay raw bytes: signatures cover them exactly, and each API parses them itself so a
  // malformed body gets that API's error.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  // Hooks that run on every request take `done` rather than being async: no promise and no extra
  // turn of the microtask queue per hook and request.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('X-Request-Id', request.id);
    done();
  });
  // The official Node SDK sends `{}` as the body of a GET and signs its hash. Fastify leaves GET
  // bodies unread; read one when there is one, so the signature covers the bytes actually sent.
  app.addHook('preValidation', (request, reply, done) => {
    if (request.method !== 'GET' || !carriesBody(request.headers)) {
      done();
      return;
    }
    readBody(request.raw, request.headers['content-length'], BODY_LIMIT).then(
      (body) => {
        request.body = body;
        done();
      },
      (err: Error) => {
        // The rest of the body stays unread: the connection cannot carry another request.
        reply.header('Connection', 'close');
        done(err);
      },
    );
  });

  // After each route's own validation, before its handler: no identifier reaches the store
  // unchecked.
  app.addHook('preHandler', checkIdentifiers);

  installErrorHandler(app);

  await app.register(swagger, openApiDocument(PROFILES));
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const now = deps.now ?? Date.now;
  const identities = new IdentityCache(deps.store, deps.secrets);
  const keyLockout = new AccessKeyLockout(
    deps.store,
    options.akskLockout === undefined ? DEFAULT_AKSK_LOCKOUT : options.akskLockout,
    now,
  );
  const retention = startEventRetention(deps.store, options.eventRetentionDays ?? 0, (err) =>
    app.log.error({ err }, 'pruning the change log failed'),
  );
  const eventIndexing = deps.store.indexEventsInBackground(
    (err) => app.log.error({ err }, 'indexing the change log failed'),
    ({ indexed, remaining }) =>
      remaining > 0
        ? app.log.info(
            { indexed, remaining },
            'indexing the change log in the background; reads by resource, project or time are slower until it is done',
          )
        : app.log.info({ indexed }, 'the change log is indexed'),
  );
  const requestLog = new RequestLog(options.requestLog ?? DEFAULT_REQUEST_LOG);
  installRequestLog(app, requestLog, now);
  const faults = new FaultInjector(deps.store, now);
  const faultTargets = new FaultTargets();
  installFaults(app, faults, faultTargets);
  app.addHook('onClose', async () => {
    retention.stop();
    await eventIndexing.stop();
    identities.close();
    keyLockout.close();
    faults.close();
  });
  const authenticator = new Authenticator({
    identities,
    lockout: keyLockout,
    tokens: deps.tokens,
    mode: options.auth,
    now,
    ...(options.rateLimit ? { throttle: new Throttle(options.rateLimit, now) } : {}),
  });
  const authorizer = new PolicyAuthorizer();
  const engine = new TagEngine(
    deps.store,
    authorizer,
    (projectId) => identities.cachedProject(projectId)?.domainId,
  );

  registerOpsRoutes(app, { store: deps.store });
  registerIamRoutes(app, {
    identity: new IdentityService(
      deps.store,
      deps.tokens,
      now,
      new LoginLockout(
        deps.store,
        options.loginLockout === undefined ? DEFAULT_LOGIN_LOCKOUT : options.loginLockout,
        now,
      ),
      identities,
    ),
    authenticator,
  });
  registerAdminRoutes(app, {
    store: deps.store,
    secrets: deps.secrets,
    adminTokenHash: deps.adminTokenHash,
  });
  registerAdminEventRoutes(app, {
    store: deps.store,
    feed: new EventFeed(deps.store, sseMessage),
    streams: {
      keepAliveMs: options.eventKeepAliveMs ?? EVENT_KEEP_ALIVE_MS,
      maxUnreadBytes: options.eventStreamMaxUnreadBytes ?? EVENT_STREAM_MAX_UNREAD_BYTES,
    },
    adminTokenHash: deps.adminTokenHash,
  });
  registerAdminIdentityRoutes(app, {
    credentials: new CredentialAdmin(deps.store, deps.secrets),
    adminTokenHash: deps.adminTokenHash,
  });
  registerAdminTenancyRoutes(app, { store: deps.store, adminTokenHash: deps.adminTokenHash });
  registerAdminFaultRoutes(app, {
    faults,
    targets: faultTargets,
    adminTokenHash: deps.adminTokenHash,
  });
  registerAdminRequestLogRoutes(app, { log: requestLog, adminTokenHash: deps.adminTokenHash });
  registerServiceRoutes(app, PROFILES, { engine, authenticator });
  registerCtsRoutes(app, { store: deps.store, authenticator, authorizer });
  registerTmsRoutes(app, {
    store: deps.store,
    cross: new CrossServiceTags(deps.store, engine, authorizer),
    authenticator,
  });

  await app.ready();
  return app;
}
