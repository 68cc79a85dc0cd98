import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signRequest } from '../../src/auth/aksk-signature.js';
import {
  http,
  issueToken,
  NODE_ADMIN_TOKEN,
  type NodeTenant,
  newMasterKey,
  seedTenant,
  startNode,
  startNodes,
} from '../support/nodes.js';
import { type ServerProcess, waitFor } from '../support/process.js';
import { createPostgresDatabase, type TestDatabase } from '../support/test-store.js';

/**
 * Three tagplane processes on one fresh PostgreSQL database, driven in parallel. They start at
 * the same moment, so they also race to migrate the new database and to create its keys.
 */
describe('three nodes on one PostgreSQL database', () => {
  let db: TestDatabase;
  let nodes: ServerProcess[] = [];
  let tenant: NodeTenant;
  let token: string;
  const bms = Array.from({ length: 4 }, () => randomUUID());
  const supernodes = Array.from({ length: 2 }, () => randomUUID());

  beforeAll(async () => {
    db = await createPostgresDatabase();
    const env = { TAGPLANE_MASTER_KEY: newMasterKey() };
    const args = ['--database', db.url, '--admin-token', NODE_ADMIN_TOKEN];
    nodes = await startNodes(3, args, env);
    tenant = await seedTenant(nodes[0]!.url, NODE_ADMIN_TOKEN, [
      ...bms.map((id) => ({ type: 'bms_server', id })),
      ...supernodes.map((id) => ({ type: 'modelarts_hyperinstance', id })),
    ]);
    token = await issueToken(nodes[1]!.url, tenant);
  }, 90_000);

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await db?.drop();
  });

  const node = (i: number) => nodes[i % nodes.length]!;
  const auth = () => ({ 'x-auth-token': token });

  const bmsTags = async (i: number, id: string) => {
    const res = await http(
      node(i).url,
      'GET',
      `/v1/${tenant.projectId}/baremetalservers/${id}/tags`,
      {
        headers: auth(),
      },
    );
    expect(res.status).toBe(200);
    return new Map(
      (res.body as { tags: { key: string; value: string }[] }).tags.map((t) => [t.key, t.value]),
    );
  };

  it('a token issued by one node works on every node', async () => {
    const fromNode2 = await issueToken(node(2).url, tenant);
    for (const t of [token, fromNode2]) {
      for (let i = 0; i < 3; i++) {
        const res = await http(
          node(i).url,
          'GET',
          `/v1/${tenant.projectId}/baremetalservers/${bms[0]}/tags`,
          {
            headers: { 'x-auth-token': t },
          },
        );
        expect(res.status, `node ${i}`).toBe(200);
      }
    }
  });

  it('a user deleted through one node can no longer use its token on the others', async () => {
    const other = await seedTenant(node(0).url, NODE_ADMIN_TOKEN, [
      { type: 'bms_server', id: 'solo' },
    ]);
    const otherToken = await issueToken(node(0).url, other);
    const path = `/v1/${other.projectId}/baremetalservers/solo/tags`;
    const before = await http(node(2).url, 'GET', path, {
      headers: { 'x-auth-token': otherToken },
    });
    expect(before.status).toBe(200);
    const gone = await http(node(1).url, 'DELETE', `/admin/v1/users/${other.userId}`, {
      headers: { authorization: `Bearer ${NODE_ADMIN_TOKEN}` },
    });
    expect(gone.status).toBe(204);
    for (let i = 0; i < 3; i++) {
      const after = await http(node(i).url, 'GET', path, {
        headers: { 'x-auth-token': otherToken },
      });
      expect(after.status, `node ${i}`).toBe(401);
    }
  });

  describe('lockouts hold on every node', () => {
    const KEY_LOCKED =
      'Incorrect IAM authentication information: AK access failed to reach the limit,forbidden.';

    /** A signed GET of a server's tags through node `i`, with the tenant's key and `secretKey`. */
    const signedList = async (i: number, t: NodeTenant, id: string, secretKey = t.secretKey) => {
      const base = node(i).url;
      const path = `/v1/${t.projectId}/baremetalservers/${id}/tags`;
      const { authorization, date } = signRequest(
        {
          method: 'GET',
          rawPath: path,
          rawQuery: '',
          headers: { host: new URL(base).host },
          body: Buffer.alloc(0),
        },
        t.accessKey,
        secretKey,
      );
      const res = await http(base, 'GET', path, {
        headers: { authorization, 'x-sdk-date': date },
      });
      return { status: res.status, message: (res.body as { error_msg?: string }).error_msg };
    };
    /** Another node learns a lockout change by notification: within milliseconds. */
    const settle = () => new Promise((r) => setTimeout(r, 200));

    it('bad signatures through different nodes add up; the sixth locks the key on every node, good signatures included', async () => {
      const t = await seedTenant(node(0).url, NODE_ADMIN_TOKEN, [{ type: 'bms_server', id: 's' }]);
      for (let i = 0; i < 3; i++) expect((await signedList(i, t, 's')).status).toBe(200);
      for (let i = 0; i < 5; i++) {
        expect((await signedList(i, t, 's', 'wrong-secret')).message).toMatch(/does not match/);
      }
      expect((await signedList(2, t, 's', 'wrong-secret')).message).toBe(KEY_LOCKED);
      await settle();
      for (let i = 0; i < 3; i++) {
        expect(await signedList(i, t, 's'), `node ${i}`).toEqual({
          status: 401,
          message: KEY_LOCKED,
        });
      }
    });

    it('a good signature through one node resets the count on all', async () => {
      const t = await seedTenant(node(0).url, NODE_ADMIN_TOKEN, [{ type: 'bms_server', id: 's' }]);
      for (let i = 0; i < 4; i++) await signedList(0, t, 's', 'wrong-secret');
      await settle();
      expect((await signedList(1, t, 's')).status).toBe(200);
      await settle();
      for (let i = 0; i < 5; i++) {
        expect((await signedList(i, t, 's', 'wrong-secret')).message).toMatch(/does not match/);
      }
      expect((await signedList(2, t, 's', 'wrong-secret')).message).toBe(KEY_LOCKED);
    });

    it('a user locked by failed logins through several nodes is locked on every node', async () => {
      const t = await seedTenant(node(0).url, NODE_ADMIN_TOKEN);
      const login = (i: number, password: string) =>
        http(node(i).url, 'POST', '/v3/auth/tokens', {
          body: {
            auth: {
              identity: {
                methods: ['password'],
                password: {
                  user: { name: t.userName, password, domain: { name: t.domainName } },
                },
              },
            },
          },
        });
      for (let i = 0; i < 5; i++) {
        const res = await login(i, 'nope');
        expect(res.body).toEqual({
          error: {
            code: 401,
            message: 'The username or password is wrong.',
            title: 'Unauthorized',
          },
        });
      }
      for (let i = 0; i < 3; i++) {
        const res = await login(i, t.password);
        expect(res.status, `node ${i}`).toBe(401);
        expect(res.body).toEqual({
          error: { code: 401, message: 'The account is locked.', title: 'Unauthorized' },
        });
      }
    });
  });

  it('a resource registered through one node is served by the others', async () => {
    const id = randomUUID();
    const put = await http(
      node(2).url,
      'PUT',
      `/admin/v1/projects/${tenant.projectId}/resources/bms_server/${id}`,
      {
        headers: { authorization: `Bearer ${NODE_ADMIN_TOKEN}` },
        body: { name: 'late' },
      },
    );
    expect(put.status).toBe(200);
    const tagged = await http(
      node(0).url,
      'POST',
      `/v1/${tenant.projectId}/baremetalservers/${id}/tags/action`,
      {
        headers: auth(),
        body: { action: 'create', tags: [{ key: 'from', value: 'node-0' }] },
      },
    );
    expect(tagged.status).toBe(204);
    expect(await bmsTags(1, id)).toEqual(new Map([['from', 'node-0']]));
  });

  it('a fault injected through one node fires on every node; its count holds across them', async () => {
    const register = async (id: string) => {
      const put = await http(
        node(0).url,
        'PUT',
        `/admin/v1/projects/${tenant.projectId}/resources/bms_server/${id}`,
        { headers: { authorization: `Bearer ${NODE_ADMIN_TOKEN}` }, body: {} },
      );
      expect(put.status).toBe(200);
    };
    const faults = (method: string, body?: unknown) =>
      http(node(0).url, method, '/admin/v1/faults', {
        headers: { authorization: `Bearer ${NODE_ADMIN_TOKEN}` },
        ...(body !== undefined ? { body } : {}),
      });
    const list = (i: number, id: string) =>
      http(node(i).url, 'GET', `/v1/${tenant.projectId}/baremetalservers/${id}/tags`, {
        headers: auth(),
      });
    const id = randomUUID();
    const marker = randomUUID();
    await register(id);
    await register(marker);
    try {
      const counted = await faults('POST', {
        match: { resource_id: id },
        error: { status: 502, code: 'APIG.0202' },
        count: 4,
      });
      expect(counted.status).toBe(201);
      // Created after it: a node that fires this one holds the counted one too.
      expect(
        (await faults('POST', { match: { resource_id: marker }, error: { status: 503 } })).status,
      ).toBe(201);
      for (let i = 1; i < 3; i++) {
        const deadline = Date.now() + 10_000;
        while ((await list(i, marker)).status !== 503) {
          if (Date.now() > deadline) throw new Error(`node ${i} never saw the fault`);
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => list(i, id)));
      const failed = answers.filter((r) => r.status === 502);
      expect(failed).toHaveLength(4);
      expect(
        failed.every((r) => (r.body as { error_code: string }).error_code === 'APIG.0202'),
      ).toBe(true);
      expect(answers.filter((r) => r.status === 200)).toHaveLength(8);
      const listed = (await faults('GET')).body as { faults: { id: string; fired: number }[] };
      const { id: countedId } = counted.body as { id: string };
      expect(listed.faults.find((f) => f.id === countedId)?.fired).toBe(4);
    } finally {
      expect((await faults('DELETE')).status).toBe(204);
    }
  });

  it('parallel batches through every node never exceed the tag limit and apply whole or not at all', async () => {
    const id = bms[1]!;
    // 60 batches of two new keys each, spread over the three nodes, all at once.
    const batches = Array.from({ length: 60 }, (_, i) => [
      { key: `k${i}-a`, value: `v${i}` },
      { key: `k${i}-b`, value: `v${i}` },
    ]);
    const answers = await Promise.all(
      batches.map((tags, i) =>
        http(node(i).url, 'POST', `/v1/${tenant.projectId}/baremetalservers/${id}/tags/action`, {
          headers: auth(),
          body: { action: 'create', tags },
        }),
      ),
    );
    const statuses = answers.map((a) => a.status);
    expect(
      statuses.every((s) => s === 204 || s === 400),
      statuses.join(','),
    ).toBe(true);
    const accepted = batches.filter((_, i) => statuses[i] === 204);
    // BMS allows 20 tags: exactly ten batches of two fit, whichever nodes they went through.
    expect(accepted).toHaveLength(10);
    for (const a of answers.filter((x) => x.status === 400)) {
      expect(JSON.stringify(a.body)).toMatch(/at most 20 tags/);
    }
    const tags = await bmsTags(2, id);
    expect(tags.size).toBe(20);
    batches.forEach((batch, i) => {
      const present = batch.filter((t) => tags.get(t.key) === t.value).length;
      expect(present, `batch ${i}`).toBe(statuses[i] === 204 ? 2 : 0);
    });
  });

  it('parallel creates of one key through every node: exactly one wins where keys may not be overwritten', async () => {
    const id = supernodes[0]!;
    const path = `/v1/${tenant.projectId}/dev-servers/hyperinstance/${id}/tags/create`;
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        http(node(i).url, 'POST', path, {
          headers: auth(),
          body: {
            tags: [
              { key: 'owner', value: `writer-${i}` },
              { key: `own-${i}`, value: 'x' },
            ],
          },
        }),
      ),
    );
    const winners = answers.flatMap((a, i) => (a.status === 200 ? [i] : []));
    expect(winners).toHaveLength(1);
    expect(answers.filter((a) => a.status !== 200).every((a) => a.status === 400)).toBe(true);
    const list = await http(
      node(1).url,
      'GET',
      `/v1/${tenant.projectId}/dev-servers/hyperinstance/${id}/tags`,
      {
        headers: auth(),
      },
    );
    expect(list.status).toBe(200);
    expect((list.body as { tags: unknown[] }).tags).toEqual([
      { key: `own-${winners[0]}`, value: 'x' },
      { key: 'owner', value: `writer-${winners[0]}` },
    ]);
  });

  it('parallel writes to many resources through every node all land', async () => {
    const writes = bms.flatMap((id) =>
      Array.from({ length: 8 }, (_, i) => ({
        id,
        tags: [{ key: `m${i}`, value: id.slice(0, 8) }],
      })),
    );
    const answers = await Promise.all(
      writes.map((w, i) =>
        http(node(i).url, 'POST', `/v1/${tenant.projectId}/baremetalservers/${w.id}/tags/action`, {
          headers: auth(),
          body: { action: 'create', tags: w.tags },
        }),
      ),
    );
    expect(answers.map((a) => a.status).every((s) => s === 204 || s === 400)).toBe(true);
    for (const [i, w] of writes.entries()) {
      const tags = await bmsTags(i + 1, w.id);
      if (answers[i]!.status === 204) expect(tags.get(w.tags[0]!.key)).toBe(w.tags[0]!.value);
    }
    // bms[0] and bms[2] had room for all eight.
    for (const id of [bms[0]!, bms[2]!])
      expect((await bmsTags(0, id)).size).toBeGreaterThanOrEqual(8);
  });
});

describe('nodes without an --admin-token', () => {
  it('share the one generated on the first start', async () => {
    const db = await createPostgresDatabase();
    const env = { TAGPLANE_MASTER_KEY: newMasterKey() };
    const started: ServerProcess[] = [];
    try {
      started.push(await startNode(['--database', db.url], env));
      const line = await started[0]!.line(/^admin token: /);
      const generated = line.slice('admin token: '.length);
      expect(generated).toMatch(/^[A-Za-z0-9_-]{20,}$/);
      started.push(await startNode(['--database', db.url], env));
      expect(await started[1]!.line(/^admin token: /)).toBe(
        'admin token: (generated on first start; set one with --admin-token)',
      );
      for (const n of started) {
        const ok = await http(n.url, 'POST', '/admin/v1/seed', {
          headers: { authorization: `Bearer ${generated}` },
          body: {},
        });
        expect(ok.status).toBe(200);
        const wrong = await http(n.url, 'POST', '/admin/v1/seed', {
          headers: { authorization: 'Bearer not-the-admin-token-at-all' },
          body: {},
        });
        expect(wrong.status).toBe(401);
      }
    } finally {
      await Promise.all(started.map((n) => n.stop()));
      await db.drop();
    }
  }, 60_000);
});

describe('starting on PostgreSQL', () => {
  it('three nodes starting together on a new database create the demo data once', async () => {
    const db = await createPostgresDatabase();
    const env = { TAGPLANE_MASTER_KEY: newMasterKey() };
    let started: ServerProcess[] = [];
    try {
      started = await startNodes(
        3,
        ['--database', db.url, '--admin-token', NODE_ADMIN_TOKEN],
        { ...env, TAGPLANE_LOG_LEVEL: 'info' },
        { demo: true },
      );
      // Start-up ends with the 'started' log line, after everything printed on standard output.
      for (const n of started) {
        await waitFor(() => n.stderr().includes('"msg":"started"'), 'the start-up to finish');
      }
    } finally {
      await Promise.all(started.map((n) => n.stop()));
      await db.drop();
    }
    const creators = started.filter((n) => n.lines.some((l) => l.startsWith('demo: domain ')));
    expect(creators).toHaveLength(1);
  }, 60_000);

  it('requires TAGPLANE_MASTER_KEY, which every node must share', async () => {
    const db = await createPostgresDatabase();
    try {
      await expect(startNode(['--database', db.url], { TAGPLANE_MASTER_KEY: '' })).rejects.toThrow(
        /TAGPLANE_MASTER_KEY is required with PostgreSQL: every node must hold the same key/,
      );
    } finally {
      await db.drop();
    }
  });

  it('refuses a master key other than the one the database was set up with', async () => {
    const db = await createPostgresDatabase();
    try {
      const first = await startNode(['--database', db.url], {
        TAGPLANE_MASTER_KEY: newMasterKey(),
      });
      await first.stop();
      await expect(
        startNode(['--database', db.url], { TAGPLANE_MASTER_KEY: newMasterKey() }),
      ).rejects.toThrow(/master key .* is not the one this database's secrets were encrypted with/);
    } finally {
      await db.drop();
    }
  }, 60_000);

  it('rejects a pool size that is not a number from 1 to 1000', async () => {
    await expect(
      startNode(['--database', 'postgres://127.0.0.1:1/x'], { TAGPLANE_PG_POOL: '0' }),
    ).rejects.toThrow(/invalid TAGPLANE_PG_POOL '0': use 1–1000/);
  });
});
