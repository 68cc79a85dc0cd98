import type { Store } from '../store/database.js';
import {
  clearLoginFailures,
  ensureLoginFailures,
  findLoginFailures,
  type LoginFailureRecord,
  saveLoginFailures,
} from '../store/lockout-store.js';

/** `ATTEMPTS` failed logins within `windowMs` lock the user for `lockMs`. */
export interface LoginLockoutPolicy {
  readonly attempts: number;
  readonly windowMs: number;
  readonly lockMs: number;
}

/** IAM's: 5 failures within 15 minutes lock the account for 15 minutes. */
export const DEFAULT_LOGIN_LOCKOUT: LoginLockoutPolicy = Object.freeze({
  attempts: 5,
  windowMs: 15 * 60_000,
  lockMs: 15 * 60_000,
});

/**
 * The state after one more failed login at `now`. The window slides: a failure counts while it is
 * less than `windowMs` old. The failure that makes `attempts` locks the user (its own answer is
 * still "wrong"); a user already locked stays as it is.
 */
export function afterLoginFailure(
  state: LoginFailureRecord | undefined,
  now: number,
  policy: LoginLockoutPolicy,
): LoginFailureRecord {
  if (state && state.lockedUntil > now) return state;
  const recent = (state?.failedAt ?? []).filter((t) => t > now - policy.windowMs);
  recent.push(now);
  if (recent.length >= policy.attempts) return { failedAt: [], lockedUntil: now + policy.lockMs };
  return { failedAt: recent, lockedUntil: 0 };
}

/**
 * Login lockout over the store, so that it holds on every node. Logins are rare next to signed
 * requests, so each one simply reads its user's row; only failures (and the first success after
 * them) write.
 */
export class LoginLockout {
  constructor(
    private readonly store: Store,
    private readonly policy: LoginLockoutPolicy | null,
    private readonly now: () => number,
  ) {}

  /** The user's failure state, when lockout is on and it has one. */
  async state(userId: string): Promise<LoginFailureRecord | undefined> {
    if (!this.policy) return undefined;
    return findLoginFailures(this.store.db, userId);
  }

  /** Whether the state is a lock still running. */
  locked(state: LoginFailureRecord | undefined): boolean {
    return state !== undefined && state.lockedUntil > this.now();
  }

  /** Counts a failed login of an existing user. */
  async failed(userId: string): Promise<void> {
    const policy = this.policy;
    if (!policy) return;
    const rowLocks = this.store.caps.rowLocks;
    await this.store.transaction(async (tx) => {
      if (!(await ensureLoginFailures(tx, userId))) return;
      const before = await findLoginFailures(tx, userId, rowLocks);
      await saveLoginFailures(tx, userId, afterLoginFailure(before, this.now(), policy));
    });
  }

  /** A successful login: forgets the failures it had (`state`, as read before the check). */
  async succeeded(userId: string, state: LoginFailureRecord | undefined): Promise<void> {
    if (!this.policy || state === undefined) return;
    await this.store.transaction((tx) => clearLoginFailures(tx, userId, this.now()));
  }
}
