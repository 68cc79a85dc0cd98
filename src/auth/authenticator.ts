import { sha256Hex } from '../core/hash.js';
import { type Principal, principalOf } from '../core/principal.js';
import type { AccessKeyLockout } from './access-key-lockout.js';
import {
  ALGORITHM,
  CLOCK_SKEW_MS,
  constantTimeHexEqual,
  DATE_HEADER,
  DERIVED_ALGORITHM,
  formatSdkDate,
  hmacHex,
  parseAuthorization,
  parseSdkDate,
  signingKey,
  stringToSign,
  UNSIGNED_PAYLOAD,
} from './aksk-signature.js';
import {
  CONTENT_SHA256_HEADER,
  candidateCanonicalRequests,
  payloadHash,
  type SignableRequest,
} from './canonical-request.js';
import type { IdentityCache } from './identity-cache.js';
import type { Throttle } from './throttle.js';
import { tokenHolder } from './token-grounds.js';
import type { TokenSigner } from './tokens.js';

/** Credentials missing or not acceptable: answered 401 in the gateway envelope. */
export class AuthenticationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthenticationError';
  }
}

export type AuthMode = 'strict' | 'open';

/** The gateway's words for a locked access key (after the common prefix of APIG.0301). */
export const ACCESS_KEY_LOCKED = 'AK access failed to reach the limit,forbidden.';

/** Why a caller may not act in a project: which scope it lacks, and a message saying so. */
export interface ProjectDenial {
  readonly scope: 'project' | 'domain';
  readonly message: string;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f]/;

export interface AuthenticatorDeps {
  /** Users, projects and access keys, cached across requests. */
  readonly identities: IdentityCache;
  /** Signature failures and locks of access keys. */
  readonly lockout: AccessKeyLockout;
  readonly tokens: TokenSigner;
  readonly mode: AuthMode;
  readonly now: () => number;
  /** Requests per second per credential (`--rate-limit`); absent: unlimited. */
  readonly throttle?: Throttle;
}

const OPEN_PRINCIPAL: Principal = {
  userId: 'open',
  userName: 'open',
  domainId: '*',
  root: true,
  policies: [],
  scope: { kind: 'open' },
};

function header(req: SignableRequest, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : v?.[0];
}

/**
 * X-Sdk-Content-Sha256 replaces the body's hash in the canonical request, so it counts only when
 * it is itself signed, and a hash it states must be the body's: otherwise a body could be swapped
 * under a valid signature. `UNSIGNED-PAYLOAD` (what the SDKs send for non-JSON bodies) leaves the
 * body out of the signature, as the SDKs intend.
 */
function checkContentSha256(req: SignableRequest, signedHeaders: readonly string[]): void {
  const given = header(req, CONTENT_SHA256_HEADER);
  if (given === undefined) return;
  if (!signedHeaders.includes(CONTENT_SHA256_HEADER)) {
    throw new AuthenticationError('X-Sdk-Content-Sha256 is sent but not listed in SignedHeaders.');
  }
  if (given === UNSIGNED_PAYLOAD) return;
  if (!/^[0-9a-fA-F]{64}$/.test(given)) {
    throw new AuthenticationError(
      `X-Sdk-Content-Sha256 must be ${UNSIGNED_PAYLOAD} or the hex SHA-256 of the body.`,
    );
  }
  if (given.toLowerCase() !== sha256Hex(req.body)) {
    throw new AuthenticationError('X-Sdk-Content-Sha256 is not the SHA-256 of the body sent.');
  }
}

/** Verifies the credentials of a request: an X-Auth-Token or an AK/SK signature. */
export class Authenticator {
  constructor(private readonly deps: AuthenticatorDeps) {}

  /**
   * The caller, or an AuthenticationError saying what is wrong. `projectId` is the project the
   * request addresses, when it addresses one.
   */
  async authenticate(req: SignableRequest, projectId?: string): Promise<Principal> {
    const token = header(req, 'x-auth-token');
    if (token !== undefined) {
      const principal = await this.fromToken(token);
      // Per user; with --auth open, where every token is the same user, per token.
      this.deps.throttle?.admit(
        principal.scope.kind === 'open' ? `token:${sha256Hex(token)}` : `user:${principal.userId}`,
      );
      return principal;
    }
    const authorization = header(req, 'authorization');
    if (authorization !== undefined) return this.fromSignature(req, authorization, projectId);
    throw new AuthenticationError(
      `No credentials: send an X-Auth-Token header or sign the request with an access key (${ALGORITHM} or ${DERIVED_ALGORITHM}).`,
    );
  }

  async fromToken(token: string): Promise<Principal> {
    if (token.trim() === '') throw new AuthenticationError('The X-Auth-Token header is empty.');
    if (this.deps.mode === 'open') return OPEN_PRINCIPAL;
    const claims = this.deps.tokens.verify(token, this.deps.now());
    if ('error' in claims) {
      throw new AuthenticationError(
        claims.error === 'expired'
          ? 'The token has expired; request a new one from POST /v3/auth/tokens.'
          : 'The token is invalid.',
      );
    }
    const user = await tokenHolder(this.deps.identities, token, claims, this.deps.now());
    if (!user) {
      throw new AuthenticationError(
        'The token is invalid: it was revoked, or its user was deleted or changed password.',
      );
    }
    return principalOf(
      user,
      claims.projectId !== undefined
        ? { kind: 'project', projectId: claims.projectId }
        : { kind: 'domain' },
    );
  }

  private async fromSignature(
    req: SignableRequest,
    authorization: string,
    projectId: string | undefined,
  ): Promise<Principal> {
    const parsed = parseAuthorization(authorization);
    if (!parsed.ok) {
      throw new AuthenticationError(`Malformed Authorization header: ${parsed.reason}.`);
    }
    const auth = parsed.auth;
    if (this.deps.mode === 'open') {
      this.deps.throttle?.admit(`ak:${auth.accessKey}`);
      return OPEN_PRINCIPAL;
    }

    const dateText = header(req, DATE_HEADER);
    if (dateText === undefined) {
      throw new AuthenticationError('The X-Sdk-Date header is missing.');
    }
    const date = parseSdkDate(dateText);
    if (date === undefined) {
      throw new AuthenticationError(
        `The X-Sdk-Date header '${dateText.slice(0, 40)}' is malformed; expected YYYYMMDDTHHMMSSZ (UTC).`,
      );
    }
    if (Math.abs(this.deps.now() - date) > CLOCK_SKEW_MS) {
      throw new AuthenticationError(
        `The request has expired: X-Sdk-Date ${dateText} is more than 15 minutes from the server time ${formatSdkDate(this.deps.now())}.`,
      );
    }
    if (auth.scope && auth.scope.date !== dateText.slice(0, 8)) {
      throw new AuthenticationError(
        `The credential scope date ${auth.scope.date} is not the date of X-Sdk-Date ${dateText}.`,
      );
    }
    if (!auth.signedHeaders.includes(DATE_HEADER)) {
      throw new AuthenticationError('SignedHeaders must include x-sdk-date.');
    }
    for (const h of auth.signedHeaders) {
      if (req.headers[h] === undefined) {
        throw new AuthenticationError(`The signed header '${h}' is missing from the request.`);
      }
    }
    checkContentSha256(req, auth.signedHeaders);

    const key = await this.deps.identities.accessKey(auth.accessKey);
    if (!key) {
      throw new AuthenticationError(`The access key '${auth.accessKey}' does not exist.`);
    }
    // A locked key is refused before its signature is checked, however it is signed.
    const standing = await this.deps.lockout.standing(auth.accessKey);
    if (standing === 'locked') throw new AuthenticationError(ACCESS_KEY_LOCKED);
    const signWith = signingKey(auth, key.secretKey);

    // Each comparison is constant-time. Stopping at the first match tells only which canonical
    // form the client used, which the client knows.
    let match = false;
    for (const canonical of candidateCanonicalRequests(req, auth.signedHeaders)) {
      const expected = hmacHex(signWith, stringToSign(dateText, canonical, auth.scope));
      if (constantTimeHexEqual(expected, auth.signature)) {
        match = true;
        break;
      }
    }
    if (!match) {
      // The failure that reaches the limit answers as the lock it starts.
      if (await this.deps.lockout.failed(auth.accessKey)) {
        throw new AuthenticationError(ACCESS_KEY_LOCKED);
      }
      throw new AuthenticationError(
        `The ${auth.algorithm} signature does not match: check the secret key, and that the method, path, query, the signed headers (${auth.signedHeaders.join(';')}) and the body (SHA-256 ${payloadHash(req)}) are sent exactly as signed.`,
      );
    }
    if (standing === 'failing') await this.deps.lockout.succeeded(auth.accessKey);

    const user = await this.deps.identities.user(key.userId);
    if (!user) throw new AuthenticationError(`The access key '${auth.accessKey}' has no user.`);
    const xProject = header(req, 'x-project-id');
    if (xProject !== undefined && projectId !== undefined && xProject !== projectId) {
      throw new AuthenticationError(
        `X-Project-Id '${xProject}' does not match the project '${projectId}' in the path.`,
      );
    }
    this.deps.throttle?.admit(`ak:${auth.accessKey}`);
    return principalOf(user, { kind: 'signature', accessKey: auth.accessKey });
  }

  /**
   * With a signature, X-Project-Id (when sent; the SDKs send it) must name the project the request
   * acts in: the path's, or on the cross-service API the body's `project_id`.
   */
  requireProjectHeader(req: SignableRequest, principal: Principal, projectId: string): void {
    if (principal.scope.kind !== 'signature') return;
    const xProject = header(req, 'x-project-id');
    if (xProject !== undefined && xProject !== projectId) {
      throw new AuthenticationError(
        `X-Project-Id '${xProject}' does not match the project '${projectId}' of the request.`,
      );
    }
  }

  /**
   * Why the caller may not act in a project, or undefined when it may. A project-scoped token
   * acts in its own project only; a signed request in any project of the user's domain; a
   * domain-scoped token only where `allowDomainScope` (the cross-service API). `project`: the
   * credentials are scoped to another project; `domain`: the project is not in the caller's
   * domain.
   */
  async projectAccessDenial(
    principal: Principal,
    projectId: string,
    allowDomainScope = false,
  ): Promise<ProjectDenial | undefined> {
    // No project id holds a control character, and PostgreSQL text cannot even carry NUL.
    if (CONTROL_CHARACTER.test(projectId)) {
      return { scope: 'domain', message: `'${projectId}' is not a project id.` };
    }
    switch (principal.scope.kind) {
      case 'open':
        return undefined;
      case 'project':
        if (principal.scope.projectId !== projectId) {
          return {
            scope: 'project',
            message: `The token is scoped to project '${principal.scope.projectId}'; it cannot act in project '${projectId}'.`,
          };
        }
        // The project may have changed hands since the token was issued: still check its domain.
        break;
      case 'domain':
        if (!allowDomainScope) {
          return {
            scope: 'project',
            message:
              'A domain-scoped token cannot call project APIs; request a token scoped to the project.',
          };
        }
        break;
      case 'signature':
        break;
    }
    const identities = this.deps.identities;
    const project = identities.cachedProject(projectId) ?? (await identities.project(projectId));
    return project !== undefined && project.domainId === principal.domainId
      ? undefined
      : {
          scope: 'domain',
          message: `Project '${projectId}' does not belong to the caller's domain.`,
        };
  }
}
