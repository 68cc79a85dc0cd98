import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { killAll, send, startServer, tempDir } from '../support/process.js';
import { signed } from '../support/signing.js';

const cleanups: (() => void)[] = [];
afterEach(async () => {
  await killAll();
  for (const c of cleanups.splice(0)) c();
});

const SERVERS = 20;
const WRITERS = 4;
/** Acknowledged writes after which the server is killed. */
const KILL_AFTER = 60;

const ADMIN = 'durability-admin-token-0123456789';

it('every acknowledged write survives a SIGKILL with its event; unacknowledged ones are all-or-nothing', async () => {
  const { dir, remove } = tempDir();
  cleanups.push(remove);
  const u = randomBytes(4).toString('hex');
  const keys = { accessKey: `AKDURA${u}`, secretKey: `durability-secret-${u}` };
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
      resources: Array.from({ length: SERVERS }, (_, i) => ({
        project_id: projectId,
        type: 'bms_server',
        id: `srv-${i}`,
      })),
    }),
  );
  const db = `sqlite:${join(dir, 'db.sqlite')}`;
  const s = await startServer([
    '--port',
    '0',
    '--database',
    db,
    '--seed',
    seedFile,
    '--no-demo',
    '--admin-token',
    ADMIN,
  ]);
  const host = new URL(s.url).host;

  /** Write i adds two tags to server i mod SERVERS. */
  const write = (i: number) => ({
    server: `srv-${i % SERVERS}`,
    tags: [
      { key: `w${i}-a`, value: `${i}` },
      { key: `w${i}-b`, value: `${i}` },
    ],
  });
  const acknowledged: number[] = [];
  const unanswered: number[] = [];
  let next = 0;
  let killed = false;

  const writer = async () => {
    while (!killed) {
      const i = next++;
      const w = write(i);
      try {
        const res = await send(
          s.url,
          signed(
            {
              method: 'POST',
              url: `/v1/${projectId}/baremetalservers/${w.server}/tags/action`,
              headers: { 'content-type': 'application/json' },
              payload: JSON.stringify({ action: 'create', tags: w.tags }),
            },
            keys,
            { host },
          ),
        );
        expect(res.statusCode, res.body).toBe(204);
        acknowledged.push(i);
        if (acknowledged.length >= KILL_AFTER && !killed) {
          killed = true;
          s.child.kill('SIGKILL');
        }
      } catch (err) {
        // Connection reset or refused by the killed server: the outcome is unknown.
        if (!killed) throw err;
        unanswered.push(i);
      }
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, writer));
  expect(await s.exited).toEqual({ code: null, signal: 'SIGKILL' });
  expect(acknowledged.length).toBeGreaterThanOrEqual(KILL_AFTER);
  expect(next).toBeLessThanOrEqual(SERVERS * 10);

  const again = await startServer([
    '--port',
    '0',
    '--database',
    db,
    '--no-demo',
    '--admin-token',
    ADMIN,
  ]);
  const againHost = new URL(again.url).host;
  const present = new Map<string, string>();
  for (let n = 0; n < SERVERS; n++) {
    const res = await send(
      again.url,
      signed(
        { method: 'GET', url: `/v1/${projectId}/baremetalservers/srv-${n}/tags`, headers: {} },
        keys,
        {
          host: againHost,
        },
      ),
    );
    expect(res.statusCode, res.body).toBe(200);
    for (const t of (JSON.parse(res.body) as { tags: { key: string; value: string }[] }).tags) {
      present.set(t.key, t.value);
    }
  }
  for (const i of acknowledged) {
    for (const t of write(i).tags)
      expect(present.get(t.key), `acknowledged write ${i}`).toBe(t.value);
  }
  for (const i of unanswered) {
    const [a, b] = write(i).tags;
    expect(present.has(a!.key), `write ${i} is all-or-nothing`).toBe(present.has(b!.key));
  }
  // Nothing else appeared.
  const known = new Set(
    [...acknowledged, ...unanswered].flatMap((i) => write(i).tags.map((t) => t.key)),
  );
  for (const key of present.keys()) expect(known).toContain(key);

  // The change log: one event per write that happened, none for one that did not.
  const logged = await send(again.url, {
    method: 'GET',
    url: `/admin/v1/events?project_id=${projectId}&limit=1000`,
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  expect(logged.statusCode, logged.body).toBe(200);
  const events = (
    JSON.parse(logged.body) as { events: { id: string; changes: { key: string }[] }[] }
  ).events;
  const writeOf = (keys: string[]) => Number(/^w(\d+)-a$/.exec(keys[0] ?? '')?.[1]);
  const counted = new Map<number, number>();
  for (const e of events) {
    const keys = e.changes.map((c) => c.key);
    const i = writeOf(keys);
    expect(keys, `event ${e.id}`).toEqual(write(i).tags.map((t) => t.key));
    // No event without its write.
    for (const key of keys) expect(present.get(key), `event ${e.id}`).toBe(String(i));
    counted.set(i, (counted.get(i) ?? 0) + 1);
  }
  for (const i of acknowledged) expect(counted.get(i), `event of write ${i}`).toBe(1);
  for (const i of unanswered) {
    const happened = present.has(write(i).tags[0]!.key);
    expect(counted.get(i) ?? 0, `event of unanswered write ${i}`).toBe(happened ? 1 : 0);
  }
});
