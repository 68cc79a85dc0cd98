import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, startServer, tempDir } from '../support/process.js';

const cleanups: (() => void)[] = [];
afterEach(async () => {
  await killAll();
  for (const c of cleanups.splice(0)) c();
});

const ADMIN = 'identity-cache-admin-token';

/**
 * Credentials are cached in each process. A change made through one process must reach the
 * credential checks of another process on the same SQLite file, and of the process itself at once.
 */
describe('cached credentials on SQLite', () => {
  it('a user deleted through one process is refused by both, its cached token included', async () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    const args = ['--port', '0', '--database', `sqlite:${join(dir, 'db.sqlite')}`, '--no-demo'];
    const a = await startServer([...args, '--admin-token', ADMIN]);
    const b = await startServer([...args, '--admin-token', ADMIN]);
    const u = randomBytes(4).toString('hex');
    const admin = (url: string, path: string, method: string, body?: unknown) =>
      fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    const seeded = await admin(a.url, '/admin/v1/seed', 'POST', {
      domains: [{ id: `d-${u}`, name: `d-${u}` }],
      projects: [{ id: `p-${u}`, name: 'eu-de', domain_id: `d-${u}` }],
      users: [
        { id: `u-${u}`, name: 'root', domain_id: `d-${u}`, root: true, password: 'pw-123456' },
      ],
      resources: [{ project_id: `p-${u}`, type: 'bms_server', id: 'srv-1' }],
    });
    expect(seeded.status).toBe(200);
    const issued = await fetch(`${a.url}/v3/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        auth: {
          identity: {
            methods: ['password'],
            password: { user: { name: 'root', password: 'pw-123456', domain: { name: `d-${u}` } } },
          },
          scope: { project: { id: `p-${u}` } },
        },
      }),
    });
    const token = issued.headers.get('x-subject-token')!;
    const list = (url: string) =>
      fetch(`${url}/v1/p-${u}/baremetalservers/srv-1/tags`, { headers: { 'x-auth-token': token } });
    // Both processes have now looked the user up (and cached it).
    expect((await list(a.url)).status).toBe(200);
    expect((await list(b.url)).status).toBe(200);

    expect((await admin(b.url, `/admin/v1/users/u-${u}`, 'DELETE')).status).toBe(204);
    // The deleting process refuses at once.
    expect((await list(b.url)).status).toBe(401);
    // The other process sees the change within its 10 ms polling interval.
    await new Promise((r) => setTimeout(r, 50));
    const refused = await list(a.url);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error_code: 'APIG.0301' });
  });
});
