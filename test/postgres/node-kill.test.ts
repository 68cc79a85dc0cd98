import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  issueToken,
  NODE_ADMIN_TOKEN,
  type NodeTenant,
  newMasterKey,
  seedTenant,
  startNodes,
} from '../support/nodes.js';
import type { ServerProcess } from '../support/process.js';
import { createPostgresDatabase, type TestDatabase } from '../support/test-store.js';
import { readAllTags, tagsPresent, WriteStream } from '../support/write-stream.js';

describe('a node killed with SIGKILL in the middle of a stream of writes', () => {
  let db: TestDatabase;
  let nodes: ServerProcess[] = [];
  let tenant: NodeTenant;
  let token: string;
  // BMS allows 20 tags; the stream below puts at most 6 batches of 2 on each server.
  const servers = Array.from({ length: 40 }, () => randomUUID());

  beforeAll(async () => {
    db = await createPostgresDatabase();
    const env = { TAGPLANE_MASTER_KEY: newMasterKey() };
    const args = ['--database', db.url, '--admin-token', NODE_ADMIN_TOKEN];
    nodes = await startNodes(3, args, env);
    tenant = await seedTenant(
      nodes[0]!.url,
      NODE_ADMIN_TOKEN,
      servers.map((id) => ({ type: 'bms_server', id })),
    );
    token = await issueToken(nodes[0]!.url, tenant);
  }, 90_000);

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await db?.drop();
  });

  it('loses no acknowledged write, applies none by halves, and the other nodes keep serving', async () => {
    const stream = new WriteStream(
      nodes.map((n) => n.url),
      tenant.projectId,
      token,
      servers,
      3,
    );
    await stream.until(
      () => stream.acknowledged(0).length >= 15,
      '15 writes acknowledged by node 0',
    );
    // Requests to node 0 are in flight right now.
    await nodes[0]!.kill();
    const killedAt = stream.now();
    stream.abandon(0);
    await stream.until(
      () => stream.writes.filter((w) => w.sentAt > killedAt && w.status === 204).length >= 60,
      '60 writes acknowledged by the surviving nodes',
    );
    await stream.stop();

    // The kill cut requests to node 0 short (they got no answer).
    expect(
      stream.writes.filter((w) => w.target === 0 && w.status === 'error').length,
    ).toBeGreaterThan(0);
    // The surviving nodes answered everything, before and after the kill.
    const survivors = stream.writes.filter((w) => w.target !== 0);
    expect(survivors.filter((w) => w.status !== 204).map((w) => w.status)).toEqual([]);
    expect(stream.writes.length).toBeLessThanOrEqual(servers.length * 6);

    const tags = await readAllTags(nodes[1]!.url, tenant.projectId, token, servers);
    for (const w of stream.writes) {
      const present = tagsPresent(tags, w);
      if (w.status === 204) expect(present, `acknowledged write ${w.n}`).toBe(2);
      else expect([0, 2], `write ${w.n} (${String(w.status)})`).toContain(present);
    }
  }, 120_000);
});
