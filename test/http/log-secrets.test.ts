import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, createHarness, type Harness, json, type Tenant } from '../support/harness.js';
import { sdkSigned } from '../support/sdk.js';

/**
 * The server log never carries a secret key, password or token. Every harness scans its log when
 * it closes; this file runs every kind of credential through the server, successes and failures,
 * and checks the captured log line by line.
 */
describe('secrets and the server log', () => {
  let h: Harness;
  let t: Tenant;
  const secrets: string[] = [ADMIN_TOKEN];

  beforeAll(async () => {
    h = await createHarness();
    t = await h.tenant();
    secrets.push(
      t.root.password,
      t.root.secretKey,
      t.root.token,
      t.iamUser.password,
      t.iamUser.secretKey,
    );
  });
  afterAll(() => h.close());

  const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
  const passwordBody = (password: string) =>
    JSON.stringify({
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: 'root', password, domain: { id: t.domainId } } },
        },
        scope: { project: { id: t.projectId } },
      },
    });

  it('logs every request, with no credential in it', async () => {
    const server = await t.resource('bms_server', [{ key: 'env', value: 'dev' }]);
    const path = `/v1/${t.projectId}/baremetalservers/${server}/tags`;

    // Tokens: issued, verified, used, refused.
    const issued = await h.inject({
      method: 'POST',
      url: '/v3/auth/tokens?nocatalog=true',
      headers: { 'content-type': 'application/json' },
      payload: passwordBody(t.root.password),
    });
    expect(issued.statusCode).toBe(201);
    const token = issued.headers['x-subject-token'] as string;
    secrets.push(token);
    await h.inject({
      method: 'GET',
      url: '/v3/auth/tokens',
      headers: { 'x-auth-token': token, 'x-subject-token': token },
    });
    await h.inject({ method: 'GET', url: path, headers: { 'x-auth-token': token } });
    await h.inject({ method: 'GET', url: path, headers: { 'x-auth-token': `${token}x` } });
    const wrong = await h.inject({
      method: 'POST',
      url: '/v3/auth/tokens',
      headers: { 'content-type': 'application/json' },
      payload: passwordBody('wrong-password-123'),
    });
    expect(wrong.statusCode).toBe(401);
    secrets.push('wrong-password-123');

    // Access keys: created, used, misused.
    const user = json(
      await h.inject({
        method: 'POST',
        url: '/admin/v1/users',
        headers: admin,
        payload: JSON.stringify({
          name: 'logger-test',
          domain_id: t.domainId,
          root: true,
          password: 'admin-set-password-1',
        }),
      }),
    ) as { id: string };
    secrets.push('admin-set-password-1');
    const key = json(
      await h.inject({
        method: 'POST',
        url: `/admin/v1/users/${user.id}/access-keys`,
        headers: admin,
      }),
    ) as { access_key: string; secret_key: string };
    secrets.push(key.secret_key);
    const signed = sdkSigned({
      method: 'POST',
      path: `${path}/action`,
      data: { action: 'create', tags: [{ key: 'a', value: 'b' }] },
      accessKey: key.access_key,
      secretKey: key.secret_key,
      projectId: t.projectId,
    });
    expect((await h.inject(signed)).statusCode).toBe(204);
    await h.inject({ ...signed, payload: signed.payload!.replace('"b"', '"c"') });
    await h.inject(
      sdkSigned({
        method: 'GET',
        path,
        accessKey: key.access_key,
        secretKey: `${key.secret_key}0`,
        projectId: t.projectId,
      }),
    );
    await h.inject({
      method: 'PUT',
      url: `/admin/v1/users/${user.id}/password`,
      headers: admin,
      payload: JSON.stringify({ password: 'changed-password-2' }),
    });
    secrets.push('changed-password-2');
    await h.inject({ method: 'GET', url: '/admin/v1/users', headers: admin });
    await h.inject({
      method: 'GET',
      url: '/admin/v1/users',
      headers: { authorization: 'Bearer not-it-123' },
    });
    secrets.push('not-it-123');
    // A malformed body carrying a password is refused; its text stays out of the log.
    await h.inject({
      method: 'POST',
      url: '/admin/v1/users',
      headers: admin,
      payload: '{"password": "in-a-broken-body-9", ',
    });
    secrets.push('in-a-broken-body-9');

    const log = h.logs();
    const lines = log.trim().split('\n');
    // One line per request, each naming its URL and status.
    expect(lines.length).toBeGreaterThanOrEqual(14);
    expect(log).toContain(`"url":"${path}"`);
    expect(log).toContain('"status":401');
    for (const secret of secrets) {
      expect(log.includes(secret), `a secret of ${secret.length} characters is in the log`).toBe(
        false,
      );
    }
  });
});
