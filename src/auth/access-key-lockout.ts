import type { Store } from '../store/database.js';
import {
  type AccessKeyFailureRecord,
  clearAccessKeyFailures,
  findAccessKeyFailures,
  listAccessKeyFailures,
  recordAccessKeyFailure,
} from '../store/lockout-store.js';
import { lockoutChanged } from '../store/lockout-version.js';

/** More than `failures` consecutive signature failures lock the key for `lockMs`. */
export interface AccessKeyLockoutPolicy {
  readonly failures: number;
  readonly lockMs: number;
}

/** The gateway's: more than 5 consecutive failures lock the key for 5 minutes. */
export const DEFAULT_AKSK_LOCKOUT: AccessKeyLockoutPolicy = Object.freeze({
  failures: 5,
  lockMs: 5 * 60_000,
});

/**
 * What a signed request needs to know of its key before it is verified: `clean` (no failures:
 * a good signature costs nothing more), `failing` (a good signature must clear the count) or
 * `locked` (refused, however it is signed).
 */
export type KeyStanding = 'clean' | 'failing' | 'locked';

/**
 * Access-key lockout, held in the store (`access_key_failures`) so that it holds on every node,
 * without costing the hot path anything.
 *
 * Each node keeps a view of the keys that have failures or a lock: a map read by every signed
 * request. A key absent from it is clean, and a correctly signed request of a clean key neither
 * writes nor reads the database. The view is loaded whole (one small query: only keys with
 * failures or a running lock are in it) when a request finds it stale, one load at a time, shared
 * by the requests that wait for it.
 *
 * It goes stale when other nodes must see a change, and only then: when a key goes from clean to
 * failing (its first failure), when it is locked, and when a good signature clears it. These
 * transactions bump the `lockout_version` setting, which notifies `tagplane_lockout` on
 * PostgreSQL and is polled with `PRAGMA data_version` on SQLite, as identity changes are, but on
 * a channel of its own: identity caches are never dropped for it. The second to fifth failures
 * of a key only count up in the database (one statement, so concurrent failures on any node are
 * all counted), and a locked key is refused before its signature is even checked: a flood of bad
 * signatures on a key costs one write each and at most two view reloads per lock period, not a
 * reload per request. Identity changes make the view stale too (a key deleted and created again
 * must not inherit a lock), as does losing the PostgreSQL listening connection, during which the
 * view is not used and each signed request reads its key's row instead.
 *
 * A lock set on another node is seen here once its notification arrives (milliseconds); a
 * request verified in that gap still passes. A lock that ends needs no notification: its time is
 * in the view.
 */
export class AccessKeyLockout {
  private entries = new Map<string, AccessKeyFailureRecord>();
  /** Bumped by every change notification. */
  private generation = 0;
  /** The generation at the start of the load that filled `entries`; -1: never loaded. */
  private loaded = -1;
  private loading: Promise<void> | undefined;
  private readonly unsubscribe: (() => void)[];

  constructor(
    private readonly store: Store,
    private readonly policy: AccessKeyLockoutPolicy | null,
    private readonly now: () => number,
  ) {
    const stale = () => {
      this.generation++;
    };
    this.unsubscribe = policy ? [store.onLockoutChange(stale), store.onIdentityChange(stale)] : [];
  }

  close(): void {
    for (const u of this.unsubscribe) u();
    this.entries.clear();
  }

  private standingOf(record: AccessKeyFailureRecord | undefined): KeyStanding {
    if (record === undefined) return 'clean';
    if (record.lockedUntil > this.now()) return 'locked';
    return record.failures > 0 ? 'failing' : 'clean';
  }

  /** The view, current as of this call; undefined while other nodes' changes cannot be seen. */
  private async view(): Promise<Map<string, AccessKeyFailureRecord> | undefined> {
    this.store.pollIdentity();
    if (!this.store.identityTracked()) return undefined;
    const wanted = this.generation;
    while (this.loaded < wanted) {
      this.loading ??= this.load().finally(() => {
        this.loading = undefined;
      });
      await this.loading;
    }
    return this.entries;
  }

  private async load(): Promise<void> {
    const generation = this.generation;
    const rows = await listAccessKeyFailures(this.store.db, this.now());
    if (generation < this.loaded) return;
    this.entries = new Map(rows.map((r) => [r.accessKey, r]));
    this.loaded = generation;
  }

  async standing(accessKey: string): Promise<KeyStanding> {
    if (!this.policy) return 'clean';
    const view = await this.view();
    return this.standingOf(
      view ? view.get(accessKey) : await findAccessKeyFailures(this.store.db, accessKey),
    );
  }

  /** Counts a signature failure; true when the key is locked after it. */
  async failed(accessKey: string): Promise<boolean> {
    const policy = this.policy;
    if (!policy) return false;
    const after = await this.store.transaction(async (tx) => {
      const now = this.now();
      const lockUntil = now + policy.lockMs;
      const record = await recordAccessKeyFailure(tx, accessKey, now, policy.failures, lockUntil);
      if (!record) return undefined;
      const justLocked = record.lockedUntil === lockUntil;
      const firstFailure = record.failures === 1 && record.lockedUntil <= now;
      if (justLocked || firstFailure) await lockoutChanged(tx);
      return { record, now };
    });
    return after !== undefined && after.record.lockedUntil > after.now;
  }

  /** A good signature of a `failing` key: its count starts again (a lock runs its course). */
  async succeeded(accessKey: string): Promise<void> {
    if (!this.policy) return;
    await this.store.transaction(async (tx) => {
      if (await clearAccessKeyFailures(tx, accessKey, this.now())) await lockoutChanged(tx);
    });
  }
}
