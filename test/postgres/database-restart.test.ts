import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  http,
  issueToken,
  NODE_ADMIN_TOKEN,
  type NodeTenant,
  newMasterKey,
  seedTenant,
  startNode,
} from '../support/nodes.js';
import { type PrivatePostgres, startPrivatePostgres } from '../support/private-postgres.js';
import type { ServerProcess } from '../support/process.js';
import { readAllTags, tagsPresent, WriteStream } from '../support/write-stream.js';

/** The database crashes and comes back while tagplane serves: on a cluster of the test's own. */
describe('PostgreSQL going down and coming back while tagplane runs', () => {
  let pg: PrivatePostgres;
  let node: ServerProcess;
  let tenant: NodeTenant;
  let token: string;
  const servers = Array.from({ length: 50 }, () => randomUUID());

  beforeAll(async () => {
    pg = await startPrivatePostgres();
    node = await startNode(['--database', pg.url, '--admin-token', NODE_ADMIN_TOKEN], {
      TAGPLANE_MASTER_KEY: newMasterKey(),
    });
    tenant = await seedTenant(
      node.url,
      NODE_ADMIN_TOKEN,
      servers.map((id) => ({ type: 'bms_server', id })),
    );
    token = await issueToken(node.url, tenant);
  }, 90_000);

  afterAll(async () => {
    await node?.stop();
    await pg?.destroy();
  });

  const readyz = () => http(node.url, 'GET', '/readyz');

  it('answers 502 APIG.0202 in the gateway envelope during the outage, reports it on /readyz, and resumes by itself', async () => {
    expect((await readyz()).status).toBe(200);
    const stream = new WriteStream([node.url], tenant.projectId, token, servers, 3);
    await stream.until(() => stream.acknowledged().length >= 20, '20 writes acknowledged');

    // A crash, not a shutdown: in-flight transactions are cut.
    await pg.stop('immediate');
    const downAt = stream.now();
    await stream.until(
      () => stream.writes.filter((w) => w.sentAt > downAt && w.status === 502).length >= 10,
      '10 writes answered 502 during the outage',
    );
    // /readyz is no gateway route: it answers 503, as readiness probes expect.
    const notReady = await readyz();
    expect(notReady.status).toBe(503);
    expect(notReady.body).toMatchObject({ error_code: 'APIG.0202' });
    const read = await http(
      node.url,
      'GET',
      `/v1/${tenant.projectId}/baremetalservers/${servers[0]}/tags`,
      {
        headers: { 'x-auth-token': token },
      },
    );
    expect(read.status).toBe(502);
    expect(read.body).toMatchObject({
      error_code: 'APIG.0202',
      error_msg: expect.stringMatching(/^Backend unavailable/),
    });

    await pg.start();
    // The node is not restarted or told: it finds the database again on its own.
    const deadline = Date.now() + 30_000;
    while ((await readyz()).status !== 200) {
      if (Date.now() > deadline) throw new Error('/readyz did not report ready within 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    const readyAt = stream.now();
    await stream.until(
      () => stream.writes.filter((w) => w.sentAt > readyAt && w.status === 204).length >= 20,
      '20 writes acknowledged after the database came back',
    );
    await stream.stop();

    // Every answer is a success or a clean 502; never a 500 or a dropped connection.
    const statuses = new Set(stream.writes.map((w) => w.status));
    expect([...statuses].sort()).toEqual([204, 502]);
    for (const w of stream.writes.filter((x) => x.status === 502)) {
      const body = w.body as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual(['error_code', 'error_msg', 'request_id']);
      expect(body.error_code).toBe('APIG.0202');
      expect(body.request_id).toBe(w.requestIdHeader);
    }
    // Once ready again, every write succeeds.
    expect(stream.writes.filter((w) => w.sentAt > readyAt && w.status !== 204)).toEqual([]);

    const tags = await readAllTags(node.url, tenant.projectId, token, servers);
    for (const w of stream.writes) {
      const present = tagsPresent(tags, w);
      // An acknowledged write survived the crash; a failed one is whole or absent (a 502 on
      // a commit cut mid-flight may have landed), never half.
      if (w.status === 204) expect(present, `acknowledged write ${w.n}`).toBe(2);
      else expect([0, 2], `write ${w.n} (${String(w.status)})`).toContain(present);
    }
  }, 120_000);
});
