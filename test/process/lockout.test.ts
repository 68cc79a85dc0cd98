import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { signRequest } from '../../src/auth/aksk-signature.js';
import { killAll, startServer, tempDir } from '../support/process.js';

const cleanups: (() => void)[] = [];
afterEach(async () => {
  await killAll();
  for (const c of cleanups.splice(0)) c();
});

const ADMIN = 'lockout-process-admin-token';
const KEY_LOCKED =
  'Incorrect IAM authentication information: AK access failed to reach the limit,forbidden.';
const WRONG = 'The username or password is wrong.';
const LOCKED = 'The account is locked.';

/** A tenant with a password and an access key, and the calls the tests make against a server. */
async function seedTenant(url: string) {
  const u = randomBytes(4).toString('hex');
  const t = {
    domain: `d-${u}`,
    project: `p-${u}`,
    user: `u-${u}`,
    password: `pw-${u}-secret`,
    accessKey: `AK${u.toUpperCase()}LOCK`,
    secretKey: `SK-${u}-secret`,
  };
  const seeded = await fetch(`${url}/admin/v1/seed`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      domains: [{ id: t.domain, name: t.domain }],
      projects: [{ id: t.project, name: 'eu-de', domain_id: t.domain }],
      users: [
        {
          id: t.user,
          name: 'root',
          domain_id: t.domain,
          root: true,
          password: t.password,
          access_keys: [{ access_key: t.accessKey, secret_key: t.secretKey }],
        },
      ],
      resources: [{ project_id: t.project, type: 'bms_server', id: 'srv-1' }],
    }),
  });
  expect(seeded.status).toBe(200);
  return t;
}

type Tenant = Awaited<ReturnType<typeof seedTenant>>;

/** A signed GET of the tenant's server tags: its status and error message. */
async function signedCall(url: string, t: Tenant, secretKey = t.secretKey) {
  const path = `/v1/${t.project}/baremetalservers/srv-1/tags`;
  const { authorization, date } = signRequest(
    {
      method: 'GET',
      rawPath: path,
      rawQuery: '',
      headers: { host: new URL(url).host },
      body: Buffer.alloc(0),
    },
    t.accessKey,
    secretKey,
  );
  const res = await fetch(`${url}${path}`, {
    headers: { authorization, 'x-sdk-date': date },
  });
  const body = (await res.json()) as { error_msg?: string };
  return { status: res.status, message: body.error_msg };
}

async function login(url: string, t: Tenant, password: string) {
  const res = await fetch(`${url}/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: 'root', password, domain: { name: t.domain } } },
        },
      },
    }),
  });
  const body = (await res.json()) as { error?: { message: string } };
  return { status: res.status, message: body.error?.message };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Two processes on one SQLite file, with short windows through the flags (fractions of a minute):
 * the failure counts and the locks are the database's, so they hold across processes, and locks
 * end by the real clock.
 */
describe('lockouts across two processes on one SQLite file', () => {
  it('failures through both add up; the lock holds on both and ends after LOCK_MIN', async () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    // 3-second locks; a 12-second login window.
    const args = [
      '--port',
      '0',
      '--database',
      `sqlite:${join(dir, 'db.sqlite')}`,
      '--no-demo',
      '--admin-token',
      ADMIN,
      '--aksk-lockout',
      '5/0.05',
    ];
    const a = await startServer(args, { TAGPLANE_LOGIN_LOCKOUT: '5/0.2/0.05' });
    const b = await startServer(args, { TAGPLANE_LOGIN_LOCKOUT: '5/0.2/0.05' });
    const t = await seedTenant(a.url);

    expect((await signedCall(b.url, t)).status).toBe(200);
    for (let i = 1; i <= 5; i++) {
      const r = await signedCall(i % 2 ? a.url : b.url, t, 'wrong-secret');
      expect(r.message, `failure ${i}`).toMatch(/signature does not match/);
    }
    expect((await signedCall(b.url, t, 'wrong-secret')).message).toBe(KEY_LOCKED);
    // The other process sees the lock within its 10 ms polling interval.
    await sleep(50);
    for (const url of [a.url, b.url]) {
      expect(await signedCall(url, t)).toEqual({ status: 401, message: KEY_LOCKED });
    }

    for (let i = 1; i <= 5; i++) {
      expect((await login(i % 2 ? a.url : b.url, t, 'nope')).message).toBe(WRONG);
    }
    for (const url of [a.url, b.url]) {
      expect(await login(url, t, t.password)).toEqual({ status: 401, message: LOCKED });
    }

    await sleep(3_200);
    expect((await signedCall(a.url, t)).status).toBe(200);
    expect((await signedCall(b.url, t)).status).toBe(200);
    expect((await login(b.url, t, t.password)).status).toBe(201);
  });

  it('a success through one process resets the count for the other', async () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    const args = [
      '--port',
      '0',
      '--database',
      `sqlite:${join(dir, 'db.sqlite')}`,
      '--no-demo',
      '--admin-token',
      ADMIN,
    ];
    const a = await startServer(args);
    const b = await startServer(args);
    const t = await seedTenant(a.url);
    for (let i = 1; i <= 4; i++) await signedCall(a.url, t, 'wrong-secret');
    await sleep(50);
    expect((await signedCall(b.url, t)).status).toBe(200);
    await sleep(50);
    for (let i = 1; i <= 5; i++) {
      expect((await signedCall(a.url, t, 'wrong-secret')).message).toMatch(/does not match/);
    }
    expect((await signedCall(a.url, t, 'wrong-secret')).message).toBe(KEY_LOCKED);
  });

  it('off (flag or variable) switches each lockout off', async () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    const s = await startServer(
      [
        '--port',
        '0',
        '--database',
        `sqlite:${join(dir, 'db.sqlite')}`,
        '--no-demo',
        '--admin-token',
        ADMIN,
        '--login-lockout',
        'off',
      ],
      { TAGPLANE_AKSK_LOCKOUT: 'off' },
    );
    const t = await seedTenant(s.url);
    for (let i = 1; i <= 8; i++) {
      expect((await signedCall(s.url, t, 'wrong-secret')).message).toMatch(/does not match/);
      expect((await login(s.url, t, 'nope')).message).toBe(WRONG);
    }
    expect((await signedCall(s.url, t)).status).toBe(200);
    expect((await login(s.url, t, t.password)).status).toBe(201);
  });
});
