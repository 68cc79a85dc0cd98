import { sha256Hex } from '../core/hash.js';
import type { UserRecord } from '../core/identity.js';
import type { IdentityCache } from './identity-cache.js';
import type { TokenClaims } from './tokens.js';

/**
 * The user a genuine, unexpired token still speaks for, or undefined when its grounds have ended:
 * the user was deleted (a user created later with the same id has another token epoch), its
 * password changed (a new epoch), or the token was revoked. Read through the identity cache, which
 * every node drops when any of these changes.
 */
export async function tokenHolder(
  identities: IdentityCache,
  token: string,
  claims: TokenClaims,
  now: number,
): Promise<UserRecord | undefined> {
  const user = identities.cachedUser(claims.userId) ?? (await identities.user(claims.userId));
  if (!user || user.domainId !== claims.domainId) return undefined;
  if ((user.tokenEpoch ?? '') !== claims.epoch) return undefined;
  const revoked = identities.cachedRevokedTokens() ?? (await identities.revokedTokens(now));
  if (revoked.size > 0 && revoked.has(tokenHash(token, claims))) return undefined;
  return user;
}

/**
 * The SHA-256 of a token, as revocations name it; computed once per verified token (its claims
 * are the same object while the signer remembers it), not on every request once any token of
 * the node's database has been revoked.
 */
const hashes = new WeakMap<TokenClaims, string>();

function tokenHash(token: string, claims: TokenClaims): string {
  let hash = hashes.get(claims);
  if (hash === undefined) {
    hash = sha256Hex(token);
    hashes.set(claims, hash);
  }
  return hash;
}
