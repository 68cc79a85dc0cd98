import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessKeyLockout, type KeyStanding } from '../../src/auth/access-key-lockout.js';
import { afterLoginFailure, LoginLockout } from '../../src/auth/login-lockout.js';
import { parseDatabaseUrl, Store } from '../../src/store/database.js';
import { upsertAccessKey, upsertDomain, upsertUser } from '../../src/store/identity-store.js';
import { openTestStore, type TestStore } from '../support/test-store.js';

const MINUTE = 60_000;
const policy = { attempts: 5, windowMs: 15 * MINUTE, lockMs: 15 * MINUTE };

describe('afterLoginFailure', () => {
  it('counts failures in a sliding window and locks at the fifth', () => {
    let state = afterLoginFailure(undefined, 1_000, policy);
    expect(state).toEqual({ failedAt: [1_000], lockedUntil: 0 });
    for (const t of [2_000, 3_000, 4_000]) state = afterLoginFailure(state, t, policy);
    expect(state.failedAt).toEqual([1_000, 2_000, 3_000, 4_000]);
    expect(afterLoginFailure(state, 5_000, policy)).toEqual({
      failedAt: [],
      lockedUntil: 5_000 + 15 * MINUTE,
    });
  });

  it('forgets failures 15 minutes old', () => {
    let state = afterLoginFailure(undefined, 0, policy);
    for (const t of [1, 2, 3]) state = afterLoginFailure(state, t, policy);
    // At exactly 15 minutes the one at 0 is out; at 15 minutes + 3 all four are.
    expect(afterLoginFailure(state, 15 * MINUTE, policy).failedAt).toEqual([1, 2, 3, 15 * MINUTE]);
    expect(afterLoginFailure(state, 15 * MINUTE + 3, policy).failedAt).toEqual([15 * MINUTE + 3]);
  });

  it('leaves a running lock as it is', () => {
    const locked = { failedAt: [], lockedUntil: 10_000 };
    expect(afterLoginFailure(locked, 9_999, policy)).toBe(locked);
    expect(afterLoginFailure(locked, 10_000, policy)).toEqual({
      failedAt: [10_000],
      lockedUntil: 0,
    });
  });
});

/**
 * Two stores on one database stand for two nodes: the lockout state of each is the database's,
 * and each node's view of the access keys learns the other's changes (on PostgreSQL through
 * NOTIFY, on SQLite through PRAGMA data_version).
 */
describe('lockouts seen from two nodes of one database', () => {
  let ts: TestStore;
  let other: Store;
  let clock = Date.now();
  const now = () => clock;
  let keyNo = 0;

  beforeAll(async () => {
    ts = await openTestStore();
    other = Store.open(parseDatabaseUrl(ts.database.url), { poolSize: 2 });
    const at = new Date().toISOString();
    await ts.store.transaction(async (tx) => {
      await upsertDomain(tx, { id: 'd-1', name: 'one' }, at);
      await upsertUser(
        tx,
        { id: 'u-1', domainId: 'd-1', name: 'root', root: true, passwordHash: null, policies: [] },
        at,
      );
    });
  });
  afterAll(async () => {
    await other.close();
    await ts.close();
  });

  /** A new access key of u-1, and the lockout of each node. */
  async function freshKey() {
    const accessKey = `AK${++keyNo}`;
    await ts.store.transaction((tx) =>
      upsertAccessKey(tx, {
        accessKey,
        userId: 'u-1',
        secretCiphertext: 'sealed',
        createdAt: new Date().toISOString(),
      }),
    );
    const p = { failures: 5, lockMs: 5 * MINUTE };
    const a = new AccessKeyLockout(ts.store, p, now);
    const b = new AccessKeyLockout(other, p, now);
    const close = () => {
      a.close();
      b.close();
    };
    return { accessKey, a, b, close };
  }

  /** Resolves once `lockout` tells `expected` for the key (another node's change is seen within ms). */
  async function eventually(lockout: AccessKeyLockout, accessKey: string, expected: KeyStanding) {
    const deadline = Date.now() + 5_000;
    let seen = await lockout.standing(accessKey);
    while (seen !== expected && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 15));
      seen = await lockout.standing(accessKey);
    }
    expect(seen).toBe(expected);
  }

  it('failures through both nodes add up; the sixth locks the key on both', async () => {
    const { accessKey, a, b, close } = await freshKey();
    try {
      expect(await a.standing(accessKey)).toBe('clean');
      expect(await b.standing(accessKey)).toBe('clean');
      for (let i = 0; i < 3; i++) expect(await a.failed(accessKey)).toBe(false);
      await eventually(b, accessKey, 'failing');
      for (let i = 0; i < 2; i++) expect(await b.failed(accessKey)).toBe(false);
      expect(await a.failed(accessKey)).toBe(true);
      expect(await a.standing(accessKey)).toBe('locked');
      await eventually(b, accessKey, 'locked');
      // Failures during the lock change nothing.
      expect(await b.failed(accessKey)).toBe(true);
      clock += 5 * MINUTE;
      expect(await a.standing(accessKey)).toBe('clean');
      expect(await b.standing(accessKey)).toBe('clean');
      // The count starts again from nothing.
      for (let i = 0; i < 5; i++) expect(await b.failed(accessKey)).toBe(false);
      expect(await a.failed(accessKey)).toBe(true);
      clock += 5 * MINUTE;
    } finally {
      close();
    }
  });

  it('a good signature on one node clears the count for both', async () => {
    const { accessKey, a, b, close } = await freshKey();
    try {
      for (let i = 0; i < 5; i++) expect(await a.failed(accessKey)).toBe(false);
      await eventually(b, accessKey, 'failing');
      await b.succeeded(accessKey);
      expect(await b.standing(accessKey)).toBe('clean');
      await eventually(a, accessKey, 'clean');
      for (let i = 0; i < 5; i++) expect(await a.failed(accessKey)).toBe(false);
      expect(await b.failed(accessKey)).toBe(true);
      clock += 5 * MINUTE;
    } finally {
      close();
    }
  });

  it('a login lock set through one node holds on the other; a success resets the count', async () => {
    const a = new LoginLockout(ts.store, policy, now);
    const b = new LoginLockout(other, policy, now);
    for (let i = 0; i < 4; i++) await (i % 2 ? a : b).failed('u-1');
    expect(b.locked(await b.state('u-1'))).toBe(false);
    await a.succeeded('u-1', await a.state('u-1'));
    expect(await b.state('u-1')).toBeUndefined();
    for (let i = 0; i < 5; i++) await (i % 2 ? a : b).failed('u-1');
    expect(a.locked(await a.state('u-1'))).toBe(true);
    expect(b.locked(await b.state('u-1'))).toBe(true);
    // A success cannot clear a running lock.
    await b.succeeded('u-1', await b.state('u-1'));
    expect(a.locked(await a.state('u-1'))).toBe(true);
    clock += 15 * MINUTE;
    expect(a.locked(await a.state('u-1'))).toBe(false);
  });
});
