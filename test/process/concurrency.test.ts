import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, type ServerProcess, send, startServer, tempDir } from '../support/process.js';
import { signed } from '../support/signing.js';

const cleanups: (() => void)[] = [];
afterEach(async () => {
  await killAll();
  for (const c of cleanups.splice(0)) c();
});

const LIMIT = 20;
const REQUESTS = 40;

function setUp() {
  const { dir, remove } = tempDir();
  cleanups.push(remove);
  const u = randomBytes(4).toString('hex');
  const keys = { accessKey: `AKCONC${u}`, secretKey: `concurrency-secret-${u}` };
  const seedFile = join(dir, 'seed.json');
  writeFileSync(
    seedFile,
    JSON.stringify({
      domains: [{ id: `d-${u}`, name: `d-${u}` }],
      projects: [{ id: `p-${u}`, name: 'eu-de', domain_id: `d-${u}` }],
      users: [
        {
          id: `u-${u}`,
          name: 'root',
          domain_id: `d-${u}`,
          root: true,
          access_keys: [{ access_key: keys.accessKey, secret_key: keys.secretKey }],
        },
      ],
      resources: [{ project_id: `p-${u}`, type: 'bms_server', id: 'srv-1' }],
    }),
  );
  return {
    keys,
    path: `/v1/p-${u}/baremetalservers/srv-1/tags`,
    args: [
      '--port',
      '0',
      '--database',
      `sqlite:${join(dir, 'db.sqlite')}`,
      '--seed',
      seedFile,
      '--no-demo',
    ],
  };
}

/**
 * Sends REQUESTS concurrent requests, spread over the servers, each adding 1–3 keys of its own to
 * one BMS server, and checks the outcome against the limit.
 */
async function race(
  servers: ServerProcess[],
  keys: { accessKey: string; secretKey: string },
  path: string,
) {
  const batches = Array.from({ length: REQUESTS }, (_, i) =>
    Array.from({ length: (i % 3) + 1 }, (_, j) => ({ key: `r${i}-k${j}`, value: `v${i}` })),
  );
  const answers = await Promise.all(
    batches.map((tags, i) => {
      const s = servers[i % servers.length]!;
      return send(
        s.url,
        signed(
          {
            method: 'POST',
            url: `${path}/action`,
            headers: { 'content-type': 'application/json' },
            payload: JSON.stringify({ action: 'create', tags }),
          },
          keys,
          { host: new URL(s.url).host },
        ),
      );
    }),
  );

  const list = await send(
    servers[0]!.url,
    signed({ method: 'GET', url: path, headers: {} }, keys, {
      host: new URL(servers[0]!.url).host,
    }),
  );
  expect(list.statusCode).toBe(200);
  const present = new Map(
    (JSON.parse(list.body) as { tags: { key: string; value: string }[] }).tags.map((t) => [
      t.key,
      t.value,
    ]),
  );

  let accepted = 0;
  let smallestRefused = Number.POSITIVE_INFINITY;
  for (const [i, res] of answers.entries()) {
    const tags = batches[i]!;
    if (res.statusCode === 204) {
      accepted += tags.length;
      for (const t of tags) expect(present.get(t.key), `request ${i}'s ${t.key}`).toBe(t.value);
    } else {
      expect(res.statusCode, res.body).toBe(400);
      expect(JSON.parse(res.body).error.code).toBe('BMS.0022');
      smallestRefused = Math.min(smallestRefused, tags.length);
      for (const t of tags) expect(present.has(t.key), `request ${i}'s ${t.key}`).toBe(false);
    }
  }
  expect(present.size).toBeLessThanOrEqual(LIMIT);
  // Only the accepted requests' tags are there.
  expect(present.size).toBe(accepted);
  // A request was refused only because it would have gone over the limit.
  if (Number.isFinite(smallestRefused))
    expect(present.size + smallestRefused).toBeGreaterThan(LIMIT);
  // The requests ask for far more than the limit: some must have been refused.
  expect(Number.isFinite(smallestRefused)).toBe(true);
}

describe('concurrent writers on one resource (limit 20)', () => {
  it('one server: the count never exceeds the limit and each request is all-or-nothing', async () => {
    const { keys, path, args } = setUp();
    const s = await startServer(args);
    await race([s], keys, path);
  });

  it('two server processes sharing one SQLite file: the same holds', async () => {
    const { keys, path, args } = setUp();
    const a = await startServer(args);
    const b = await startServer(args);
    await race([a, b], keys, path);
  });
});
