import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { Answer } from '../support/envelopes.js';
import { killAll, runCli, send, startServer, tempDir } from '../support/process.js';
import type { RouteRequest } from '../support/routes.js';
import { signed, withToken } from '../support/signing.js';

const cleanups: (() => void)[] = [];
afterEach(async () => {
  await killAll();
  for (const c of cleanups.splice(0)) c();
});

const secret = (label: string) => `${label}-${randomBytes(12).toString('hex')}`;

it('no secret reaches the logs or later output, at debug level, on success and failure paths', async () => {
  const { dir, remove } = tempDir();
  cleanups.push(remove);
  const u = randomBytes(4).toString('hex');
  const adminToken = secret('admin-token');
  const fileUser = {
    password: secret('file-pw'),
    secretKey: secret('file-sk'),
    accessKey: `AKFILE${u}`,
  };
  const apiUser = {
    password: secret('api-pw'),
    secretKey: secret('api-sk'),
    accessKey: `AKAPI${u}`,
  };
  const badSeedSecret = secret('bad seed secret with spaces');
  const wrongPassword = secret('wrong-pw');
  const wrongAdminToken = secret('wrong-admin');
  const projectId = `p-${u}`;
  const domainName = `d-${u}`;

  const seedFile = join(dir, 'seed.json');
  writeFileSync(
    seedFile,
    JSON.stringify({
      domains: [{ id: `d-${u}`, name: domainName }],
      projects: [{ id: projectId, name: 'eu-de', domain_id: `d-${u}` }],
      users: [
        {
          id: `u-file-${u}`,
          name: 'file-user',
          domain_id: `d-${u}`,
          root: true,
          password: fileUser.password,
          access_keys: [{ access_key: fileUser.accessKey, secret_key: fileUser.secretKey }],
        },
      ],
      resources: [{ project_id: projectId, type: 'bms_server', id: 'srv-1' }],
    }),
  );

  const s = await startServer(
    [
      '--port',
      '0',
      '--database',
      `sqlite:${join(dir, 'db.sqlite')}`,
      '--seed',
      seedFile,
      '--log-level',
      'debug',
    ],
    { TAGPLANE_ADMIN_TOKEN: adminToken },
  );
  // The banner ends with the example calls; the demo credentials in it are the documented exception.
  await s.line(/^curl -s /);
  const bannerLength = s.stdout().length;
  const demoPassword = /^demo: root user '\S+', password (\S+)$/m.exec(s.stdout())![1]!;
  const [, demoAccessKey, demoSecretKey] = /^demo: access key (\S+), secret key (\S+)$/m.exec(
    s.stdout(),
  )!;
  const demoProject = /\(id ([0-9a-f]{32})\)/.exec(s.stdout())![1]!;
  const host = new URL(s.url).host;
  const call = (req: RouteRequest) => send(s.url, req);
  const json = { 'content-type': 'application/json' };
  const seen: Answer[] = [];
  const go = async (req: RouteRequest) => {
    const res = await call(req);
    seen.push(res);
    return res;
  };

  // Admin: a good seed with passwords and secret keys, a bad one, a wrong admin token.
  const apiSeed = {
    users: [
      {
        id: `u-api-${u}`,
        name: 'api-user',
        domain_id: `d-${u}`,
        password: apiUser.password,
        access_keys: [{ access_key: apiUser.accessKey, secret_key: apiUser.secretKey }],
      },
    ],
  };
  const admin = { authorization: `Bearer ${adminToken}`, ...json };
  expect(
    (
      await go({
        method: 'POST',
        url: '/admin/v1/seed',
        headers: admin,
        payload: JSON.stringify(apiSeed),
      })
    ).statusCode,
  ).toBe(200);
  const bad = structuredClone(apiSeed);
  bad.users[0]!.access_keys[0]!.secret_key = badSeedSecret;
  expect(
    (
      await go({
        method: 'POST',
        url: '/admin/v1/seed',
        headers: admin,
        payload: JSON.stringify(bad),
      })
    ).statusCode,
  ).toBe(400);
  expect(
    (
      await go({
        method: 'POST',
        url: '/admin/v1/reset',
        headers: { authorization: `Bearer ${wrongAdminToken}` },
      })
    ).statusCode,
  ).toBe(401);

  // IAM: tokens issued, refused and checked.
  const tokenBody = (name: string, password: string, domain = domainName) =>
    JSON.stringify({
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name, password, domain: { name: domain } } },
        },
        scope: { project: { name: 'eu-de' } },
      },
    });
  const issued = await go({
    method: 'POST',
    url: '/v3/auth/tokens',
    headers: json,
    payload: tokenBody('file-user', fileUser.password),
  });
  expect(issued.statusCode).toBe(201);
  const token = issued.headers['x-subject-token'] as string;
  const demoIssued = await go({
    method: 'POST',
    url: '/v3/auth/tokens',
    headers: json,
    payload: tokenBody('demo', demoPassword, 'demo'),
  });
  expect(demoIssued.statusCode).toBe(201);
  const demoToken = demoIssued.headers['x-subject-token'] as string;
  expect(
    (
      await go({
        method: 'POST',
        url: '/v3/auth/tokens',
        headers: json,
        payload: tokenBody('file-user', wrongPassword),
      })
    ).statusCode,
  ).toBe(401);
  expect(
    (
      await go({
        method: 'POST',
        url: '/v3/auth/tokens',
        headers: json,
        payload: `{"auth":{"password":"${wrongPassword}"`,
      })
    ).statusCode,
  ).toBe(400);
  expect(
    (
      await go({
        method: 'GET',
        url: '/v3/auth/tokens',
        headers: { 'x-auth-token': demoToken, 'x-subject-token': demoToken },
      })
    ).statusCode,
  ).toBe(200);
  expect(
    (
      await go({
        method: 'GET',
        url: '/v3/auth/tokens',
        headers: { 'x-auth-token': token, 'x-subject-token': `${demoToken}x` },
      })
    ).statusCode,
  ).toBe(404);

  // Tag calls: with tokens, with signatures, right and wrong.
  const path = `/v1/${projectId}/baremetalservers/srv-1/tags`;
  const add = (tags: { key: string; value: string }[]): RouteRequest => ({
    method: 'POST',
    url: `${path}/action`,
    headers: json,
    payload: JSON.stringify({ action: 'create', tags }),
  });
  expect((await go(withToken(add([{ key: 'by', value: 'token' }]), token))).statusCode).toBe(204);
  expect(
    (await go(signed(add([{ key: 'by', value: 'file-key' }]), fileUser, { host }))).statusCode,
  ).toBe(204);
  expect(
    (await go(signed(add([{ key: 'by', value: 'api-key' }]), apiUser, { host }))).statusCode,
  ).toBe(403);
  expect(
    (
      await go(
        signed(
          add([{ key: 'by', value: 'x' }]),
          { accessKey: fileUser.accessKey, secretKey: apiUser.secretKey },
          { host },
        ),
      )
    ).statusCode,
  ).toBe(401);
  expect((await go(withToken(add([{ key: 'bad=key', value: 'x' }]), token))).statusCode).toBe(400);
  expect(
    (await go(withToken({ method: 'GET', url: path, headers: {} }, `${token}x`))).statusCode,
  ).toBe(401);
  expect(
    (await go(withToken({ method: 'GET', url: path, headers: {} }, demoToken))).statusCode,
  ).toBe(403);
  const demoCall = signed(
    { method: 'GET', url: `/v1/${demoProject}/baremetalservers/none/tags`, headers: {} },
    { accessKey: demoAccessKey!, secretKey: demoSecretKey! },
    { host },
  );
  // An unknown server: 400 BMS.0040.
  expect((await go(demoCall)).statusCode).toBe(400);
  expect(
    (await go({ method: 'GET', url: '/nowhere', headers: { 'x-auth-token': token } })).statusCode,
  ).toBe(404);
  expect(
    (await go({ ...withToken(add([]), token), payload: `{"tags":"${'x'.repeat(1024 * 1024)}"}` }))
      .statusCode,
  ).toBe(413);
  expect(
    (
      await go({
        method: 'GET',
        url: '/v3/projects?name=eu-de',
        headers: { 'x-auth-token': token },
      })
    ).statusCode,
  ).toBe(200);

  expect(await s.stop()).toEqual({ code: 0, signal: null });

  const logs = s.stderr();
  const later = s.stdout().slice(bannerLength);
  // The server did log the requests: the scan is over real log output.
  expect(logs).toMatch(/"url":"\/v3\/auth\/tokens"/);
  expect(logs.split('\n').length).toBeGreaterThan(seen.length);

  const secrets: Record<string, string> = {
    'admin token': adminToken,
    'wrong admin token': wrongAdminToken,
    'seed file password': fileUser.password,
    'seed file secret key': fileUser.secretKey,
    'seeded password': apiUser.password,
    'seeded secret key': apiUser.secretKey,
    'rejected seed secret key': badSeedSecret,
    'wrong password': wrongPassword,
    'issued token': token,
    'demo token': demoToken,
    'demo password': demoPassword,
    'demo secret key': demoSecretKey!,
    'master key': readFileSync(join(dir, 'master.key'), 'utf8').trim(),
  };
  for (const [what, value] of Object.entries(secrets)) {
    expect(logs.includes(value), `${what} in stderr`).toBe(false);
    expect(later.includes(value), `${what} in stdout after the banner`).toBe(false);
    // Nor a recognisable part of it.
    expect(logs.includes(value.slice(-16)), `${what} (tail) in stderr`).toBe(false);
  }
  // Signatures and token header values are not logged either.
  expect(logs).not.toMatch(/SDK-HMAC-SHA256|Signature=|x-auth-token|x-subject-token/i);
});

it('a seed file rejected for a bad secret key names the entry, not the secret', async () => {
  const { dir, remove } = tempDir();
  cleanups.push(remove);
  const badSecret = secret('has spaces so it is refused');
  const file = join(dir, 'seed.json');
  writeFileSync(
    file,
    JSON.stringify({
      domains: [{ id: 'd-1', name: 'd-1' }],
      users: [
        {
          id: 'u-1',
          name: 'x',
          domain_id: 'd-1',
          access_keys: [{ access_key: 'AKBAD1', secret_key: badSecret }],
        },
      ],
    }),
  );
  const r = await runCli(['serve', '--port', '0', '--database', 'sqlite::memory:', '--seed', file]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('users[0]');
  expect(r.stderr).toContain('secret_key');
  expect(r.stderr + r.stdout).not.toContain(badSecret);
  expect(r.stderr + r.stdout).not.toContain(badSecret.slice(-16));
});
