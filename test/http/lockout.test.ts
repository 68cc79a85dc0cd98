import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ADMIN_TOKEN, createHarness, type Harness, type Tenant } from '../support/harness.js';
import { type KeyPair, signed } from '../support/signing.js';

/**
 * Access-key and login lockout over HTTP, on a server whose clock the tests move: minutes pass
 * at once. (test/process/lockout.test.ts and test/postgres/multi-node.test.ts run the real
 * clock with short windows, across processes and nodes.)
 */

const MINUTE = 60_000;
const MISMATCH =
  /^Incorrect IAM authentication information: The SDK-HMAC-SHA256 signature does not match/;
const KEY_LOCKED =
  'Incorrect IAM authentication information: AK access failed to reach the limit,forbidden.';
const WRONG = {
  error: { code: 401, message: 'The username or password is wrong.', title: 'Unauthorized' },
};
const LOCKED = { error: { code: 401, message: 'The account is locked.', title: 'Unauthorized' } };

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

/** The gateway's 401, with its message. */
function gateway401(res: LightMyRequestResponse): string {
  expect(res.statusCode, res.body).toBe(401);
  const body = JSON.parse(res.body) as Record<string, string>;
  expect(body.error_code).toBe('APIG.0301');
  return body.error_msg!;
}

describe('with a clock the tests move', () => {
  let h: Harness;
  let clock = Date.now();

  beforeAll(async () => {
    h = await createHarness({ now: () => clock });
  });
  afterAll(() => h.close());

  describe('access-key lockout (default: more than 5 consecutive failures lock for 5 minutes)', () => {
    /** A signed GET of a BMS server's tags, signed at the server's time with `key`. */
    const call = (x: Tenant, id: string, key: KeyPair) =>
      h.inject(
        signed(
          {
            method: 'GET',
            url: `/v1/${x.projectId}/baremetalservers/${id}/tags`,
            headers: { 'content-type': 'application/json' },
          },
          key,
          { now: clock },
        ),
      );
    const wrong = (x: Tenant): KeyPair => ({
      accessKey: x.root.accessKey,
      secretKey: `${x.root.secretKey}-wrong`,
    });

    it('the sixth bad signature locks the key for 5 minutes, good signatures included; then it works again', async () => {
      const t = await h.tenant();
      const id = await t.resource('bms_server');
      for (let i = 1; i <= 5; i++) {
        expect(gateway401(await call(t, id, wrong(t))), `failure ${i}`).toMatch(MISMATCH);
      }
      expect(gateway401(await call(t, id, wrong(t)))).toBe(KEY_LOCKED);
      expect(gateway401(await call(t, id, t.root))).toBe(KEY_LOCKED);
      clock += 5 * MINUTE - 1;
      expect(gateway401(await call(t, id, t.root))).toBe(KEY_LOCKED);
      // A bad signature during the lock neither extends it nor counts towards the next one.
      expect(gateway401(await call(t, id, wrong(t)))).toBe(KEY_LOCKED);
      clock += 1;
      expect((await call(t, id, t.root)).statusCode).toBe(200);
      for (let i = 1; i <= 5; i++)
        expect(gateway401(await call(t, id, wrong(t)))).toMatch(MISMATCH);
      expect(gateway401(await call(t, id, wrong(t)))).toBe(KEY_LOCKED);
    });

    it('a good signature before the sixth failure resets the count', async () => {
      const t = await h.tenant();
      const id = await t.resource('bms_server');
      for (let round = 0; round < 3; round++) {
        for (let i = 1; i <= 5; i++) {
          expect(gateway401(await call(t, id, wrong(t)))).toMatch(MISMATCH);
        }
        expect((await call(t, id, t.root)).statusCode).toBe(200);
      }
    });

    it('consecutive means consecutive in time too: failures minutes apart still add up', async () => {
      const t = await h.tenant();
      const id = await t.resource('bms_server');
      for (let i = 1; i <= 5; i++) {
        expect(gateway401(await call(t, id, wrong(t)))).toMatch(MISMATCH);
        clock += 30 * MINUTE;
      }
      expect(gateway401(await call(t, id, wrong(t)))).toBe(KEY_LOCKED);
      clock += 5 * MINUTE;
    });

    it('the lock is the key’s: the other keys of the domain and tokens of the same user still work', async () => {
      const t = await h.tenant();
      const id = await t.resource('bms_server');
      for (let i = 1; i <= 6; i++) await call(t, id, wrong(t));
      expect(gateway401(await call(t, id, t.root))).toBe(KEY_LOCKED);
      expect((await call(t, id, t.iamUser)).statusCode).not.toBe(401);
      const byToken = await h.inject({
        method: 'GET',
        url: `/v1/${t.projectId}/baremetalservers/${id}/tags`,
        headers: { 'x-auth-token': t.root.token },
      });
      expect(byToken.statusCode).toBe(200);
    });

    it('unknown access keys are refused as unknown, never locked', async () => {
      const t = await h.tenant();
      const id = await t.resource('bms_server');
      const ghost = { accessKey: 'NOSUCHKEY0LOCKOUT', secretKey: 'whatever-secret' };
      for (let i = 1; i <= 8; i++) {
        expect(gateway401(await call(t, id, ghost))).toMatch(/does not exist/);
      }
    });

    it('a deleted key takes its lock with it: the same key created again works at once', async () => {
      const t = await h.tenant();
      const id = await t.resource('bms_server');
      for (let i = 1; i <= 6; i++) await call(t, id, wrong(t));
      expect(gateway401(await call(t, id, t.root))).toBe(KEY_LOCKED);
      const del = await h.inject({
        method: 'DELETE',
        url: `/admin/v1/users/${t.root.id}/access-keys/${t.root.accessKey}`,
        headers: admin,
      });
      expect(del.statusCode).toBe(204);
      await h.seed({
        users: [
          {
            id: t.root.id,
            name: t.root.name,
            domain_id: t.domainId,
            root: true,
            password: t.root.password,
            access_keys: [{ access_key: t.root.accessKey, secret_key: t.root.secretKey }],
          },
        ],
      });
      expect((await call(t, id, t.root)).statusCode).toBe(200);
    });

    it('a correctly signed request of a key without failures writes nothing; one after failures clears them once', async () => {
      const t = await h.tenant();
      const id = await t.resource('bms_server');
      expect((await call(t, id, t.root)).statusCode).toBe(200);
      const writes = vi.spyOn(h.store, 'transaction');
      try {
        for (let i = 0; i < 3; i++) expect((await call(t, id, t.root)).statusCode).toBe(200);
        expect(writes).not.toHaveBeenCalled();
        await call(t, id, wrong(t));
        expect(writes).toHaveBeenCalledTimes(1);
        for (let i = 0; i < 3; i++) expect((await call(t, id, t.root)).statusCode).toBe(200);
        // The first good signature clears the failure; the next ones find the key clean.
        expect(writes).toHaveBeenCalledTimes(2);
      } finally {
        writes.mockRestore();
      }
    });
  });

  describe('login lockout (default: 5 failures within 15 minutes lock for 15 minutes)', () => {
    const login = (user: Record<string, unknown>) =>
      h.inject({
        method: 'POST',
        url: '/v3/auth/tokens',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({
          auth: { identity: { methods: ['password'], password: { user } } },
        }),
      });
    const byName = (x: Tenant, password = x.root.password) => ({
      name: x.root.name,
      password,
      domain: { name: x.domainName },
    });
    const expectAnswer = (res: LightMyRequestResponse, status: number, body?: unknown) => {
      expect(res.statusCode, res.body).toBe(status);
      if (body !== undefined) expect(JSON.parse(res.body)).toEqual(body);
    };

    it('the 5th failure still answers "wrong"; then every login answers "locked", the right password included, until 15 minutes have passed', async () => {
      const t = await h.tenant();
      for (let i = 1; i <= 5; i++) expectAnswer(await login(byName(t, 'nope')), 401, WRONG);
      expectAnswer(await login(byName(t)), 401, LOCKED);
      expectAnswer(await login(byName(t, 'nope')), 401, LOCKED);
      // The lock is the user's, however it is named.
      expectAnswer(await login({ id: t.root.id, password: t.root.password }), 401, LOCKED);
      // Other users of the domain are not affected.
      expectAnswer(
        await login({
          name: t.iamUser.name,
          password: t.iamUser.password,
          domain: { id: t.domainId },
        }),
        201,
      );
      clock += 15 * MINUTE - 1;
      expectAnswer(await login(byName(t)), 401, LOCKED);
      clock += 1;
      expectAnswer(await login(byName(t)), 201);
    });

    it('a successful login before the lock resets the count', async () => {
      const t = await h.tenant();
      for (let round = 0; round < 3; round++) {
        for (let i = 1; i <= 4; i++) expectAnswer(await login(byName(t, 'nope')), 401, WRONG);
        expectAnswer(await login(byName(t)), 201);
      }
    });

    it('the window slides: failures older than 15 minutes no longer count', async () => {
      const t = await h.tenant();
      for (let i = 1; i <= 4; i++) expectAnswer(await login(byName(t, 'nope')), 401, WRONG);
      clock += 15 * MINUTE;
      // The four are out of the window: four more do not lock.
      for (let i = 1; i <= 4; i++) expectAnswer(await login(byName(t, 'nope')), 401, WRONG);
      clock += 10 * MINUTE;
      // Those four are 10 minutes old: the next one is the fifth within 15 minutes.
      expectAnswer(await login(byName(t, 'nope')), 401, WRONG);
      expectAnswer(await login(byName(t)), 401, LOCKED);
      clock += 15 * MINUTE;
      expectAnswer(await login(byName(t)), 201);
    });

    it('unknown users always answer "wrong"', async () => {
      const t = await h.tenant();
      for (let i = 1; i <= 8; i++) {
        expectAnswer(
          await login({ name: 'nobody', password: 'nope', domain: { name: t.domainName } }),
          401,
          WRONG,
        );
      }
    });

    it('a deleted user takes its lock with it, and a reset clears every lock', async () => {
      const t = await h.tenant();
      for (let i = 1; i <= 5; i++) await login(byName(t, 'nope'));
      expectAnswer(await login(byName(t)), 401, LOCKED);
      const del = await h.inject({
        method: 'DELETE',
        url: `/admin/v1/users/${t.root.id}`,
        headers: admin,
      });
      expect(del.statusCode).toBe(204);
      await h.seed({
        users: [
          {
            id: t.root.id,
            name: t.root.name,
            domain_id: t.domainId,
            root: true,
            password: t.root.password,
          },
        ],
      });
      expectAnswer(await login(byName(t)), 201);

      const u = await h.tenant();
      const id = await u.resource('bms_server');
      for (let i = 1; i <= 5; i++) await login(byName(u, 'nope'));
      for (let i = 1; i <= 6; i++) {
        await h.inject(
          signed(
            { method: 'GET', url: `/v1/${u.projectId}/baremetalservers/${id}/tags`, headers: {} },
            { accessKey: u.root.accessKey, secretKey: 'wrong-secret-key' },
            { now: clock },
          ),
        );
      }
      const reset = await h.inject({ method: 'POST', url: '/admin/v1/reset', headers: admin });
      expect(reset.statusCode).toBe(204);
      // The same domain, user and key loaded again start without failures.
      await h.seed({
        domains: [{ id: u.domainId, name: u.domainName }],
        projects: [{ id: u.projectId, name: u.projectName, domain_id: u.domainId }],
        users: [
          {
            id: u.root.id,
            name: u.root.name,
            domain_id: u.domainId,
            root: true,
            password: u.root.password,
            access_keys: [{ access_key: u.root.accessKey, secret_key: u.root.secretKey }],
          },
        ],
        resources: [{ project_id: u.projectId, type: 'bms_server', id }],
      });
      expectAnswer(await login(byName(u)), 201);
      const list = await h.inject(
        signed(
          { method: 'GET', url: `/v1/${u.projectId}/baremetalservers/${id}/tags`, headers: {} },
          u.root,
          { now: clock },
        ),
      );
      expect(list.statusCode, list.body).toBe(200);
    });
  });
});

describe('lockouts switched off', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ loginLockout: null, akskLockout: null });
  });
  afterAll(() => h.close());

  it('bad signatures never lock a key, wrong passwords never lock a user', async () => {
    const t = await h.tenant();
    const id = await t.resource('bms_server');
    const call = (secretKey: string) =>
      h.inject(
        signed(
          { method: 'GET', url: `/v1/${t.projectId}/baremetalservers/${id}/tags`, headers: {} },
          { accessKey: t.root.accessKey, secretKey },
        ),
      );
    for (let i = 1; i <= 10; i++) expect(gateway401(await call('wrong-secret'))).toMatch(MISMATCH);
    expect((await call(t.root.secretKey)).statusCode).toBe(200);

    const login = (password: string) =>
      h.inject({
        method: 'POST',
        url: '/v3/auth/tokens',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({
          auth: {
            identity: {
              methods: ['password'],
              password: { user: { id: t.root.id, password } },
            },
          },
        }),
      });
    for (let i = 1; i <= 10; i++) expect(JSON.parse((await login('nope')).body)).toEqual(WRONG);
    expect((await login(t.root.password)).statusCode).toBe(201);
  });
});
