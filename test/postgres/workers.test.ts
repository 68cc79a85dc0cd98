import { readFileSync } from 'node:fs';
import http from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  issueToken,
  NODE_ADMIN_TOKEN,
  newMasterKey,
  seedTenant,
  startNode,
} from '../support/nodes.js';
import { runCli, type ServerProcess, waitFor } from '../support/process.js';
import { createPostgresDatabase, type TestDatabase } from '../support/test-store.js';

/** `serve --workers N` on a fresh PostgreSQL database: N processes behind one port. */

/** The processes a primary forked that are still running. */
function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** One request on a connection of its own (so the cluster hands each to the next worker). */
function request(
  base: string,
  method: string,
  path: string,
  options: {
    headers?: Record<string, string>;
    body?: string;
    expectContinue?: boolean;
    timeoutMs?: number;
  } = {},
): {
  answer: Promise<{ status: number; body: string }>;
  sendBody: () => void;
  sent: Promise<void>;
} {
  const url = new URL(path, base);
  const body = options.body === undefined ? undefined : Buffer.from(options.body);
  let sendBody = () => {};
  let onSent = () => {};
  const sent = new Promise<void>((r) => {
    onSent = r;
  });
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const r = http.request(
      {
        method,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        agent: false,
        headers: {
          ...options.headers,
          ...(body ? { 'content-type': 'application/json', 'content-length': body.length } : {}),
          ...(options.expectContinue ? { expect: '100-continue' } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
        );
      },
    );
    r.on('error', reject);
    const timeoutMs = options.timeoutMs ?? 10_000;
    r.setTimeout(timeoutMs, () =>
      r.destroy(new Error(`no answer to ${method} ${path} in ${timeoutMs} ms`)),
    );
    if (options.expectContinue) {
      // The server read the headers and waits for the body: the request is in flight.
      r.on('continue', onSent);
      sendBody = () => r.end(body);
      r.flushHeaders();
    } else {
      r.end(body);
      onSent();
    }
  });
  return { answer, sendBody, sent };
}

const health = async (base: string) => (await request(base, 'GET', '/healthz').answer).status;

describe('serve --workers 2 on PostgreSQL', () => {
  let db: TestDatabase;
  let server: ServerProcess | undefined;
  const env = { TAGPLANE_MASTER_KEY: newMasterKey(), TAGPLANE_LOG_LEVEL: 'info' };

  beforeEach(async () => {
    db = await createPostgresDatabase();
  });

  afterEach(async () => {
    const pids = server ? children(server.child.pid!) : [];
    await server?.kill();
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    server = undefined;
    await db.drop();
  });

  it('migrates a new database once, prints its lines once, and serves from two processes', async () => {
    server = await startNode(['--database', db.url, '--workers', '2'], env, { demo: true });
    const primary = server.child.pid!;
    const workers = children(primary);
    expect(workers).toHaveLength(2);

    const adminLine = await server.line(/^admin token: /);
    const adminToken = adminLine.slice('admin token: '.length);
    const tenant = await seedTenant(server.url, adminToken, [{ type: 'bms_server', id: 'srv-1' }]);
    const token = await issueToken(server.url, tenant);
    const path = `/v1/${tenant.projectId}/baremetalservers/srv-1/tags`;
    const writes = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        request(server!.url, 'POST', `${path}/action`, {
          headers: { 'x-auth-token': token },
          body: JSON.stringify({ action: 'create', tags: [{ key: `k${i}`, value: `v${i}` }] }),
        }).answer.then((a) => a.status),
      ),
    );
    expect(writes).toEqual(Array(8).fill(204));
    const list = await request(server.url, 'GET', path, { headers: { 'x-auth-token': token } })
      .answer;
    expect(JSON.parse(list.body).tags).toHaveLength(8);

    await server.stop();
    expect(server.child.exitCode).toBe(0);
    const out = server.lines.join('\n');
    expect(out.match(/^tagplane listening on /gm)).toHaveLength(1);
    expect(server.lines[0]).toBe(`tagplane listening on ${server.url}`);
    expect(out.match(/^admin token: /gm)).toHaveLength(1);
    expect(out.match(/^demo: root user /gm)).toHaveLength(1);
    expect(out.match(/^example: tag the demo BMS/gm)).toHaveLength(1);
    // Both workers answered requests (each logs its own pid); the primary answered none.
    const pids = new Set(
      server
        .stderr()
        .split('\n')
        .filter((l) => l.includes('"msg":"request"'))
        .map((l) => (JSON.parse(l) as { pid: number }).pid),
    );
    expect([...pids].sort()).toEqual([...workers].sort());
    // The primary ran the migrations; the workers found the schema current.
    const migrations = await runCli(['migrate', '--database', db.url], env);
    expect(migrations.stdout).toMatch(/: 0 migration\(s\) applied/);
    for (const pid of workers) expect(alive(pid)).toBe(false);
  }, 60_000);

  it('replaces a worker that dies, and keeps the port (also given as 0) when all of them do', async () => {
    server = await startNode(
      ['--database', db.url, '--workers', '2', '--admin-token', NODE_ADMIN_TOKEN],
      env,
    );
    const primary = server.child.pid!;
    const first = children(primary);
    expect(first).toHaveLength(2);

    process.kill(first[0]!, 'SIGKILL');
    await waitFor(
      () => /"msg":"worker exited; starting another"/.test(server!.stderr()),
      'the primary to notice',
    );
    // The other worker serves meanwhile.
    expect(await health(server.url)).toBe(200);
    await waitFor(() => {
      const now = children(primary);
      return now.length === 2 && !now.includes(first[0]!);
    }, 'a replacement worker');

    for (const pid of children(primary)) process.kill(pid, 'SIGKILL');
    // Replacements of workers that died young start after a short delay.
    await waitFor(
      () => children(primary).length === 2 && children(primary).every((p) => !first.includes(p)),
      'two new workers',
    );
    let status = 0;
    for (let i = 0; i < 200 && status !== 200; i++) {
      status = await health(server.url).catch(() => 0);
      if (status !== 200) await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(200);
    const tenant = await seedTenant(server.url, NODE_ADMIN_TOKEN);
    expect(await issueToken(server.url, tenant)).toMatch(/./);
    expect(server.lines.filter((l) => l.startsWith('tagplane listening on '))).toHaveLength(1);
  }, 60_000);

  it('SIGTERM: every worker finishes its in-flight request, then all exit 0', async () => {
    server = await startNode(
      ['--database', db.url, '--workers', '2', '--admin-token', NODE_ADMIN_TOKEN],
      env,
    );
    const workers = children(server.child.pid!);
    const tenant = await seedTenant(server.url, NODE_ADMIN_TOKEN, [
      { type: 'bms_server', id: 'srv-a' },
      { type: 'bms_server', id: 'srv-b' },
    ]);
    const token = await issueToken(server.url, tenant);
    // Two requests on connections of their own, each waiting for its body.
    const slow = ['srv-a', 'srv-b'].map((id) =>
      request(server!.url, 'POST', `/v1/${tenant.projectId}/baremetalservers/${id}/tags/action`, {
        headers: { 'x-auth-token': token },
        body: JSON.stringify({ action: 'create', tags: [{ key: 'in-flight', value: id }] }),
        expectContinue: true,
      }),
    );
    await Promise.all(slow.map((s) => s.sent));

    server.child.kill('SIGTERM');
    // Draining: a new connection is refused, its request answered 503, or it is not served at
    // all: one the primary accepts just as the workers stop listening stays with the primary
    // (node:cluster's hand-off) until it exits. The probe gives up on such a one after 1 s, so
    // that the in-flight requests' bodies are sent long before their own time-outs.
    let draining = false;
    for (let i = 0; i < 200 && !draining; i++) {
      draining = await request(server.url, 'GET', '/healthz', { timeoutMs: 1000 }).answer.then(
        (a) => a.status === 503,
        () => true,
      );
      if (!draining) await new Promise((r) => setTimeout(r, 25));
    }
    expect(draining).toBe(true);
    for (const s of slow) s.sendBody();
    expect((await Promise.all(slow.map((s) => s.answer))).map((a) => a.status)).toEqual([204, 204]);
    const exit = await new Promise<number | null>((resolve) =>
      server!.child.exitCode !== null
        ? resolve(server!.child.exitCode)
        : server!.child.once('exit', (code) => resolve(code)),
    );
    expect(exit).toBe(0);
    expect(server.stderr()).toMatch(/SIGTERM received, 2 workers finishing in-flight requests/);
    for (const pid of workers) expect(alive(pid)).toBe(false);

    const again = await startNode(['--database', db.url, '--admin-token', NODE_ADMIN_TOKEN], env);
    try {
      const token2 = await issueToken(again.url, tenant);
      for (const id of ['srv-a', 'srv-b']) {
        const list = await request(
          again.url,
          'GET',
          `/v1/${tenant.projectId}/baremetalservers/${id}/tags`,
          { headers: { 'x-auth-token': token2 } },
        ).answer;
        expect(JSON.parse(list.body)).toEqual({ tags: [{ key: 'in-flight', value: id }] });
      }
    } finally {
      await again.stop();
    }
  }, 60_000);

  it('--no-migrate on a new database: the primary refuses before forking any worker', async () => {
    const r = await runCli(
      ['serve', '--port', '0', '--database', db.url, '--workers', '2', '--no-migrate'],
      env,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/schema is behind/);
    expect(r.stdout).not.toMatch(/listening/);
  });
});
