import { sha256Hex } from '../core/hash.js';
import type { DomainRecord, ProjectRecord, UserRecord } from '../core/identity.js';
import { identifierProblem } from '../core/ids.js';
import type { Principal } from '../core/principal.js';
import type { Store } from '../store/database.js';
import {
  findDomainById,
  findDomainByName,
  findProject,
  findUserById,
  findUserByName,
  listDomains,
  listProjects,
  revokeToken,
} from '../store/identity-store.js';
import type { IdentityCache } from './identity-cache.js';
import type { LoginLockout } from './login-lockout.js';
import { verifyPassword } from './passwords.js';
import { tokenHolder } from './token-grounds.js';
import { TOKEN_LIFETIME_MS, type TokenClaims, type TokenSigner } from './tokens.js';

/** An IAM request that fails, with the status IAM answers. */
export class IdentityError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404,
    message: string,
  ) {
    super(message);
    this.name = 'IdentityError';
  }
}

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * `str` of an identifier field (`where`): a string no user, domain or project can have answers
 * 400, before anything is looked up.
 */
function ident(v: unknown, where: string): string | undefined {
  const s = str(v);
  const problem = s === undefined ? undefined : identifierProblem(s);
  if (problem) throw new IdentityError(400, `The request body is invalid: ${where} ${problem}.`);
  return s;
}

/** IAM's answer to a body without `auth.identity` (400). */
export const IDENTITY_REQUIRED = 'The request body is invalid: auth.identity is required.';

/** IAM's answer to a subject token that is not valid (404). */
export const SUBJECT_TOKEN_INVALID = 'X-Subject-Token is invalid in the request';

/** IAM's answers to a wrong user name or password, and to a locked user (both 401). */
export const WRONG_CREDENTIALS = 'The username or password is wrong.';
export const ACCOUNT_LOCKED = 'The account is locked.';

/** `2020-01-04T09:05:22.701000Z`, as IAM writes times. */
export function iamTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

interface Ref {
  readonly id: string;
  readonly name: string;
}

/** A token as IAM describes it (the body of POST and GET /v3/auth/tokens). */
export interface TokenDescription {
  readonly token: {
    readonly expires_at: string;
    readonly issued_at: string;
    readonly methods: string[];
    readonly user: {
      readonly domain: Ref;
      readonly id: string;
      readonly name: string;
      readonly password_expires_at: string;
    };
    /** The project of a project-scoped token. */
    project?: { readonly domain: Ref; readonly id: string; readonly name: string };
    /** The domain of a domain-scoped token. */
    domain?: Ref;
    readonly catalog: never[];
    readonly roles: { readonly id: string; readonly name: string }[];
  };
}

/** IAM's password-token and discovery operations over the store. */
export class IdentityService {
  constructor(
    private readonly store: Store,
    private readonly tokens: TokenSigner,
    private readonly now: () => number,
    private readonly lockout: LoginLockout,
    private readonly identities: IdentityCache,
  ) {}

  /** The domain a reference names, or undefined when there is none. */
  private async findDomain(ref: unknown, where: string): Promise<DomainRecord | undefined> {
    const d = obj(ref);
    const id = ident(d?.id, `${where}.id`);
    const name = ident(d?.name, `${where}.name`);
    if (!id && !name) throw new IdentityError(400, `${where} needs an id or a name.`);
    return id ? findDomainById(this.store.db, id) : findDomainByName(this.store.db, name!);
  }

  private async domainOf(ref: unknown, where: string): Promise<DomainRecord> {
    const domain = await this.findDomain(ref, where);
    if (!domain) throw new IdentityError(401, WRONG_CREDENTIALS);
    return domain;
  }

  /** Checks a password-method request and issues a token: POST /v3/auth/tokens. */
  async issue(body: unknown): Promise<{ token: string; description: TokenDescription }> {
    const auth = obj(obj(body)?.auth);
    const identity = obj(auth?.identity);
    if (!identity) throw new IdentityError(400, IDENTITY_REQUIRED);
    const methods = identity.methods;
    if (!Array.isArray(methods) || !methods.includes('password')) {
      throw new IdentityError(
        400,
        "The request body is invalid: auth.identity.methods must include 'password'.",
      );
    }
    const userRef = obj(obj(identity.password)?.user);
    const password = userRef?.password;
    if (!userRef || typeof password !== 'string') {
      throw new IdentityError(
        400,
        'The request body is invalid: auth.identity.password.user with a password is required.',
      );
    }

    // Every identifier of the request is checked before anything is looked up or hashed.
    const scope = obj(auth?.scope);
    for (const [ref, where] of [
      [scope?.project, 'scope.project'],
      [obj(scope?.project)?.domain, 'scope.project.domain'],
      [scope?.domain, 'scope.domain'],
    ] as const) {
      ident(obj(ref)?.id, `${where}.id`);
      ident(obj(ref)?.name, `${where}.name`);
    }

    let user: UserRecord | undefined;
    const userId = ident(userRef.id, 'user.id');
    if (userId) {
      user = await findUserById(this.store.db, userId);
    } else {
      const name = ident(userRef.name, 'user.name');
      if (!name)
        throw new IdentityError(
          400,
          'The request body is invalid: user.name or user.id is required.',
        );
      if (!userRef.domain) {
        throw new IdentityError(
          400,
          'The request body is invalid: user.domain (id or name) is required with user.name.',
        );
      }
      const domain = await this.findDomain(userRef.domain, 'user.domain');
      user = domain ? await findUserByName(this.store.db, domain.id, name) : undefined;
    }
    const failures = user ? await this.lockout.state(user.id) : undefined;
    // A locked user is refused whatever the password; its hash is not even computed.
    if (this.lockout.locked(failures)) throw new IdentityError(401, ACCOUNT_LOCKED);
    // The hash is computed whether or not the user exists (verifyPassword), and the answer is
    // the same: neither tells an unknown user name from a wrong password.
    const right = await verifyPassword(password, user?.passwordHash);
    if (!user || !right) {
      if (user) await this.lockout.failed(user.id);
      throw new IdentityError(401, WRONG_CREDENTIALS);
    }
    await this.lockout.succeeded(user.id, failures);

    let project: ProjectRecord | undefined;
    if (scope?.project !== undefined) {
      project = await this.scopeProject(scope.project, user);
    } else if (scope?.domain !== undefined) {
      const domain = await this.domainOf(scope.domain, 'scope.domain');
      if (domain.id !== user.domainId) {
        throw new IdentityError(401, 'The user has no access to the requested domain.');
      }
    }

    const issuedAt = this.now();
    const claims: TokenClaims = {
      userId: user.id,
      domainId: user.domainId,
      ...(project ? { projectId: project.id } : {}),
      issuedAt,
      expiresAt: issuedAt + TOKEN_LIFETIME_MS,
      epoch: user.tokenEpoch ?? '',
    };
    return {
      token: this.tokens.issue(claims),
      description: await this.describeClaims(claims, user),
    };
  }

  private async scopeProject(ref: unknown, user: UserRecord): Promise<ProjectRecord> {
    const p = obj(ref);
    const id = ident(p?.id, 'scope.project.id');
    const name = ident(p?.name, 'scope.project.name');
    if (!id && !name) throw new IdentityError(400, 'scope.project needs an id or a name.');
    let project: ProjectRecord | undefined;
    if (id) {
      project = await findProject(this.store.db, id);
    } else {
      const domainId = p?.domain
        ? (await this.domainOf(p.domain, 'scope.project.domain')).id
        : user.domainId;
      [project] = await listProjects(this.store.db, { domainId, name: name! });
    }
    if (!project || project.domainId !== user.domainId) {
      throw new IdentityError(
        401,
        `The project ${id ?? name} does not exist or the user has no access to it.`,
      );
    }
    return project;
  }

  private async describeClaims(claims: TokenClaims, user: UserRecord): Promise<TokenDescription> {
    const domain = await findDomainById(this.store.db, user.domainId);
    const domainRef = { id: user.domainId, name: domain?.name ?? '' };
    const token: TokenDescription['token'] = {
      expires_at: iamTime(claims.expiresAt),
      issued_at: iamTime(claims.issuedAt),
      methods: ['password'],
      user: { domain: domainRef, id: user.id, name: user.name, password_expires_at: '' },
      catalog: [],
      roles: user.root ? [{ id: '0', name: 'te_admin' }] : [],
    };
    if (claims.projectId !== undefined) {
      const project = await findProject(this.store.db, claims.projectId);
      token.project = { domain: domainRef, id: claims.projectId, name: project?.name ?? '' };
    } else {
      token.domain = domainRef;
    }
    return { token };
  }

  /** Whether the caller may see a token of this domain: only its own domain's. */
  private sees(caller: Principal, claims: TokenClaims): boolean {
    return caller.scope.kind === 'open' || caller.domainId === claims.domainId;
  }

  /**
   * The description of a valid token of the caller's domain, or undefined (answered 404, as for
   * a token that does not exist): GET /v3/auth/tokens.
   */
  async describe(caller: Principal, token: string): Promise<TokenDescription | undefined> {
    const now = this.now();
    const claims = this.tokens.verify(token, now);
    if ('error' in claims || !this.sees(caller, claims)) return undefined;
    const user = await tokenHolder(this.identities, token, claims, now);
    if (!user) return undefined;
    return this.describeClaims(claims, user);
  }

  /**
   * Revokes one token at once, on every node: DELETE /v3/auth/tokens. A caller may revoke its own
   * tokens; another user's of its domain only as the domain's root user (IAM asks for Security
   * Administrator). A token that is not genuine, or of another domain, is not found (404); an
   * expired one needs nothing done.
   */
  async revoke(caller: Principal, token: string): Promise<void> {
    const claims = this.tokens.inspect(token);
    if (!claims || !this.sees(caller, claims)) {
      throw new IdentityError(404, SUBJECT_TOKEN_INVALID);
    }
    if (caller.scope.kind !== 'open' && !caller.root && caller.userId !== claims.userId) {
      throw new IdentityError(
        403,
        "Only the token's own user or the domain's root user may revoke it.",
      );
    }
    const now = this.now();
    if (claims.expiresAt <= now) return;
    await this.store.transaction((tx) => revokeToken(tx, sha256Hex(token), claims.expiresAt, now));
  }

  /** Projects the caller can see, optionally by name: GET /v3/projects. */
  async projects(principal: Principal, name?: string): Promise<ProjectRecord[]> {
    const domainId = principal.scope.kind === 'open' ? undefined : principal.domainId;
    return listProjects(this.store.db, {
      ...(domainId !== undefined ? { domainId } : {}),
      ...(name !== undefined ? { name } : {}),
    });
  }

  /**
   * The regions of the caller's projects, each once, in order: GET /v3/regions. A project named
   * `R`, or `R_suffix` (a sub-project, as the clouds name them), is in region `R`.
   */
  async regions(principal: Principal): Promise<string[]> {
    const names = (await this.projects(principal)).map((p) => p.name.split('_')[0] ?? '');
    return [...new Set(names.filter((n) => n !== ''))].sort();
  }

  /** Domains the caller can access: GET /v3/auth/domains. */
  async domains(principal: Principal): Promise<DomainRecord[]> {
    if (principal.scope.kind === 'open') return listDomains(this.store.db);
    const d = await findDomainById(this.store.db, principal.domainId);
    return d ? [d] : [];
  }
}
