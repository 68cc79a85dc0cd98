import type * as crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createHarness, type Harness, type Tenant } from '../support/harness.js';

/** Every scrypt run in this file's process, with its cost parameters. */
const runs = vi.hoisted(() => [] as { N?: number; r?: number; p?: number }[]);

vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof crypto>();
  const scrypt = ((...args: unknown[]) => {
    const options = typeof args[3] === 'object' ? (args[3] as (typeof runs)[number]) : {};
    runs.push({ N: options.N, r: options.r, p: options.p });
    return (real.scrypt as (...a: unknown[]) => void)(...args);
  }) as typeof crypto.scrypt;
  return { ...real, scrypt, default: { ...real, scrypt } };
});

/**
 * A login with a wrong password and one with an unknown user cost the same: the password hash is
 * computed, with the same parameters, whether or not there is a user to compare it with. (The
 * answers themselves are compared in test/http/iam.test.ts and lockout.test.ts.)
 */
describe('the password hash is computed whether or not the user exists', () => {
  let h: Harness;
  let t: Tenant;
  beforeAll(async () => {
    h = await createHarness();
    t = await h.tenant();
    await h.seed({
      users: [{ id: `${t.root.id}-nopw`, name: 'no-password', domain_id: t.domainId }],
    });
  });
  afterAll(() => h.close());

  const login = (user: Record<string, unknown>) =>
    h.inject({
      method: 'POST',
      url: '/v3/auth/tokens',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({
        auth: { identity: { methods: ['password'], password: { user } } },
      }),
    });

  const cases: [string, () => Record<string, unknown>][] = [
    [
      'a wrong password',
      () => ({ name: t.root.name, password: 'nope', domain: { name: t.domainName } }),
    ],
    [
      'an unknown user name',
      () => ({ name: 'nobody', password: 'nope', domain: { id: t.domainId } }),
    ],
    [
      'an unknown domain',
      () => ({ name: t.root.name, password: 'nope', domain: { name: 'nowhere' } }),
    ],
    ['an unknown user id', () => ({ id: 'u-nobody', password: 'nope' })],
    [
      'a user without a password',
      () => ({ name: 'no-password', password: 'nope', domain: { id: t.domainId } }),
    ],
  ];

  it.each(cases)(
    '%s: one scrypt run with the cost of a real hash, and the same answer',
    async (_, user) => {
      runs.length = 0;
      const res = await login(user());
      expect(res.statusCode).toBe(401);
      expect(JSON.parse(res.body)).toEqual({
        error: { code: 401, message: 'The username or password is wrong.', title: 'Unauthorized' },
      });
      expect(runs).toEqual([{ N: 16384, r: 8, p: 1 }]);
    },
  );

  it('the right password: one scrypt run too', async () => {
    runs.length = 0;
    const res = await login({ id: t.root.id, password: t.root.password });
    expect(res.statusCode).toBe(201);
    expect(runs).toEqual([{ N: 16384, r: 8, p: 1 }]);
  });
});
