import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminTags, expectGatewayError } from '../support/envelopes.js';
import { createHarness, type Harness, type Tenant } from '../support/harness.js';
import { ROUTES } from '../support/routes.js';
import { withToken } from '../support/signing.js';

/**
 * SPEC §6 "Time limits" on PostgreSQL: every statement carries the query time limit
 * (`--query-timeout`, here 0.5 s), and a database that stops answering (a stalled network, made
 * here by a TCP proxy that stops forwarding) costs a request no more than that limit and a
 * little grace: 504 APIG.0203, and `/readyz` 503, instead of waiting forever.
 */

const LIMIT_MS = 500;
/** The limit, the client's grace for the server's own cancellation, and room for a busy machine. */
const BOUND_MS = LIMIT_MS + 1_000 + 1_500;

/** Forwards connections to PostgreSQL until `stall()`; then forwards nothing, closes nothing. */
class StallingProxy {
  private readonly server: Server;
  private stalled = false;
  private readonly sockets = new Set<Socket>();

  constructor(target: { host: string; port: number }) {
    this.server = createServer((client) => {
      const upstream = connect(target.port, target.host);
      this.sockets.add(client).add(upstream);
      for (const s of [client, upstream]) {
        s.on('error', () => {});
        s.on('close', () => this.sockets.delete(s));
      }
      client.on('data', (d) => {
        if (!this.stalled) upstream.write(d);
      });
      upstream.on('data', (d) => {
        if (!this.stalled) client.write(d);
      });
      client.on('end', () => upstream.end());
      upstream.on('end', () => client.end());
    });
  }

  listen(): Promise<number> {
    return new Promise((resolve) =>
      this.server.listen(0, '127.0.0.1', () =>
        resolve((this.server.address() as AddressInfo).port),
      ),
    );
  }

  stall(): void {
    this.stalled = true;
  }

  resume(): void {
    this.stalled = false;
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let owner: Harness;
let h: Harness;
let t: Tenant;
let proxy: StallingProxy;

beforeAll(async () => {
  owner = await createHarness();
  const url = new URL(owner.databaseUrl);
  proxy = new StallingProxy({ host: url.hostname, port: Number(url.port || 5432) });
  url.host = `127.0.0.1:${await proxy.listen()}`;
  h = await createHarness({
    databaseUrl: url.toString(),
    keys: owner.keys,
    store: { queryTimeoutMs: LIMIT_MS },
  });
  t = await h.tenant();
});
afterAll(async () => {
  await h?.close();
  await proxy?.close();
  await owner?.close();
});

const bmsWrite = ROUTES.find(
  (r) => r.profile.id === 'bms' && r.hasBody && r.route.kind === 'batch-action',
)!;

describe('PostgreSQL time limits', () => {
  it('a statement waiting past the limit (a row lock held elsewhere) is cancelled: 504 APIG.0203, nothing applied', async () => {
    const id = await bmsWrite.prepare(t);
    const before = await adminTags(h, t.projectId, 'bms_server', id);
    const locker = new pg.Client({ connectionString: owner.databaseUrl });
    await locker.connect();
    try {
      await locker.query('begin');
      await locker.query('select 1 from resources for update');
      const started = Date.now();
      const res = await h.inject(withToken(bmsWrite.request(t.projectId, id), t.root.token));
      expectGatewayError(res, 504, 'APIG.0203');
      expect(Date.now() - started).toBeLessThan(BOUND_MS);
    } finally {
      await locker.query('rollback');
      await locker.end();
    }
    expect(await adminTags(h, t.projectId, 'bms_server', id)).toEqual(before);
  });

  it('a database that stops answering: requests 504 APIG.0203 or 502, /readyz 503, within the limit', async () => {
    const id = await bmsWrite.prepare(t);
    // A pooled connection is open and idle: the next request uses it.
    const list = ROUTES.find((r) => r.profile.id === 'bms' && r.route.kind === 'list')!;
    expect(
      (await h.inject(withToken(list.request(t.projectId, id), t.root.token))).statusCode,
    ).toBe(200);
    proxy.stall();
    try {
      let started = Date.now();
      const res = await h.inject(withToken(list.request(t.projectId, id), t.root.token));
      expectGatewayError(res, 504, 'APIG.0203');
      expect(Date.now() - started).toBeLessThan(BOUND_MS);

      started = Date.now();
      const ready = await h.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(JSON.parse(ready.body).error_code).toBe('APIG.0202');
      expect(Date.now() - started).toBeLessThan(BOUND_MS);

      // A write needs a new connection, which the stalled server cannot give: refused, not hung.
      started = Date.now();
      const write = await h.inject(withToken(bmsWrite.request(t.projectId, id), t.root.token));
      expect([502, 504]).toContain(write.statusCode);
      expectGatewayError(
        write,
        write.statusCode,
        write.statusCode === 502 ? 'APIG.0202' : 'APIG.0203',
      );
      expect(Date.now() - started).toBeLessThan(BOUND_MS);
    } finally {
      proxy.resume();
    }
    // Once the database answers again, so does the server, with no restart.
    const again = await h.inject({ method: 'GET', url: '/readyz' });
    expect(again.statusCode).toBe(200);
  });
});
