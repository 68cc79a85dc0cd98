import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, expect, it } from 'vitest';
import { expectGatewayError } from '../support/envelopes.js';
import { killAll, send, startServer, tempDir } from '../support/process.js';
import { signed } from '../support/signing.js';

const cleanups: (() => void)[] = [];
afterEach(async () => {
  await killAll();
  for (const c of cleanups.splice(0)) c();
});

it('a write lock held by another process past TAGPLANE_SQLITE_BUSY_TIMEOUT: 504 APIG.0203 Backend timeout, nothing applied, reads go on', async () => {
  const { dir, remove } = tempDir();
  cleanups.push(remove);
  const u = randomBytes(4).toString('hex');
  const keys = { accessKey: `AKBUSY${u}`, secretKey: `busy-secret-${u}` };
  const projectId = `p-${u}`;
  const seedFile = join(dir, 'seed.json');
  writeFileSync(
    seedFile,
    JSON.stringify({
      domains: [{ id: `d-${u}`, name: `d-${u}` }],
      projects: [{ id: projectId, name: 'eu-de', domain_id: `d-${u}` }],
      users: [
        {
          id: `u-${u}`,
          name: 'root',
          domain_id: `d-${u}`,
          root: true,
          access_keys: [{ access_key: keys.accessKey, secret_key: keys.secretKey }],
        },
      ],
      resources: [
        {
          project_id: projectId,
          type: 'bms_server',
          id: 'srv-1',
          tags: [{ key: 'env', value: 'dev' }],
        },
      ],
    }),
  );
  const file = join(dir, 'db.sqlite');
  const s = await startServer(
    ['--port', '0', '--database', `sqlite:${file}`, '--seed', seedFile, '--no-demo'],
    { TAGPLANE_SQLITE_BUSY_TIMEOUT: '300' },
  );
  const host = new URL(s.url).host;
  const url = `/v1/${projectId}/baremetalservers/srv-1/tags`;
  const write = (value: string) =>
    send(
      s.url,
      signed(
        {
          method: 'POST',
          url: `${url}/action`,
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify({ action: 'create', tags: [{ key: 'env', value }] }),
        },
        keys,
        { host },
      ),
    );
  const read = async () => {
    const res = await send(s.url, signed({ method: 'GET', url, headers: {} }, keys, { host }));
    expect(res.statusCode, res.body).toBe(200);
    return JSON.parse(res.body) as unknown;
  };

  const other = new Database(file);
  cleanups.unshift(() => other.close());
  other.pragma('busy_timeout = 5000');
  other.exec('begin immediate');
  try {
    const started = Date.now();
    const res = await write('prod');
    expectGatewayError(res, 504, 'APIG.0203');
    expect(JSON.parse(res.body).error_msg).toMatch(/^Backend timeout/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    // Readers are not blocked by a writer (WAL), and see nothing of the refused write.
    expect(await read()).toEqual({ tags: [{ key: 'env', value: 'dev' }] });
  } finally {
    other.exec('rollback');
  }

  // Once the lock is released, the same write succeeds.
  expect((await write('prod')).statusCode).toBe(204);
  expect(await read()).toEqual({ tags: [{ key: 'env', value: 'prod' }] });
  expect(s.stdout() + s.stderr()).not.toContain(keys.secretKey);
});
