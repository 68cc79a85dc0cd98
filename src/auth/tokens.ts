import { createHmac, timingSafeEqual } from 'node:crypto';

export interface TokenClaims {
  readonly userId: string;
  readonly domainId: string;
  /** Set for a project-scoped token; absent for a domain-scoped one. */
  readonly projectId?: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
  /**
   * The user's token epoch when the token was issued: the token verifies only while the user's
   * epoch is still this one (a password change or a new user of the same id sets a new one).
   */
  readonly epoch: string;
}

export const TOKEN_LIFETIME_MS = 24 * 60 * 60 * 1000;

const PREFIX = 'tp1.';

/**
 * Self-contained tokens: the claims, signed with a key every node reads from the database, so a
 * token issued by one node verifies on all of them without a shared session table.
 */
/** Verified tokens remembered, so a token's signature is checked once, not on every request. */
const MAX_VERIFIED = 10_000;

export class TokenSigner {
  private readonly verified = new Map<string, TokenClaims>();

  constructor(private readonly key: Buffer) {}

  issue(claims: TokenClaims): string {
    const body = Buffer.from(
      JSON.stringify({
        u: claims.userId,
        d: claims.domainId,
        p: claims.projectId,
        i: claims.issuedAt,
        e: claims.expiresAt,
        g: claims.epoch,
      }),
    ).toString('base64url');
    return `${PREFIX}${body}.${this.mac(body)}`;
  }

  /** The claims of a genuine token, or a reason it is not acceptable. */
  verify(
    token: string,
    now: number,
  ): TokenClaims | { error: 'malformed' | 'signature' | 'expired' } {
    const known = this.verified.get(token);
    if (known) return known.expiresAt <= now ? { error: 'expired' } : known;
    const result = this.check(token, now);
    if (!('error' in result)) {
      if (this.verified.size >= MAX_VERIFIED) this.verified.clear();
      this.verified.set(token, result);
    }
    return result;
  }

  /** The claims of a genuine token, expired or not (revoking one answers either way). */
  inspect(token: string): TokenClaims | undefined {
    const result = this.check(token, Number.NEGATIVE_INFINITY);
    return 'error' in result ? undefined : result;
  }

  private check(
    token: string,
    now: number,
  ): TokenClaims | { error: 'malformed' | 'signature' | 'expired' } {
    if (!token.startsWith(PREFIX)) return { error: 'malformed' };
    const rest = token.slice(PREFIX.length);
    const dot = rest.indexOf('.');
    if (dot < 0) return { error: 'malformed' };
    const body = rest.slice(0, dot);
    const given = Buffer.from(rest.slice(dot + 1), 'base64url');
    const expected = Buffer.from(this.mac(body), 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { error: 'signature' };
    }
    let raw: { u?: unknown; d?: unknown; p?: unknown; i?: unknown; e?: unknown; g?: unknown };
    try {
      raw = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      return { error: 'malformed' };
    }
    if (typeof raw.u !== 'string' || typeof raw.d !== 'string' || typeof raw.e !== 'number') {
      return { error: 'malformed' };
    }
    if (raw.e <= now) return { error: 'expired' };
    return {
      userId: raw.u,
      domainId: raw.d,
      ...(typeof raw.p === 'string' ? { projectId: raw.p } : {}),
      issuedAt: typeof raw.i === 'number' ? raw.i : 0,
      expiresAt: raw.e,
      // Tokens issued before epochs existed carry none: they match the epoch '' of the users of then.
      epoch: typeof raw.g === 'string' ? raw.g : '',
    };
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}
