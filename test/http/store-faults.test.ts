import Database from 'better-sqlite3';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROFILES } from '../../src/services/registry.js';
import { adminTags, expectGatewayError } from '../support/envelopes.js';
import { createHarness, type Harness, type Tenant } from '../support/harness.js';
import { ROUTES, type RouteCase } from '../support/routes.js';
import { withToken } from '../support/signing.js';

/**
 * SPEC §2: a store fault is answered by the gateway, never 500 and never half-done: 502
 * APIG.0202 "Backend unavailable" when the store cannot be reached or written, 504 APIG.0203
 * "Backend timeout" when a statement runs past its time limit. Each fault is a real one of the
 * store under test: SQLite's write lock held by another connection past the busy timeout, or its
 * file full; a PostgreSQL statement cancelled by its statement_timeout.
 */

let h: Harness;
let t: Tenant;

beforeAll(async () => {
  h = await createHarness();
  t = await h.tenant();
});
afterAll(() => h.close());

const INITIAL = [{ key: 'k0', value: 'v0' }];

/** One write route of each service, and its listing. */
const WRITES = PROFILES.map(
  (p) =>
    ROUTES.find(
      (r) =>
        r.profile.id === p.id && r.hasBody && ['create', 'batch-action'].includes(r.route.kind),
    )!,
);
const listing = (rc: RouteCase) =>
  ROUTES.find((r) => r.profile.id === rc.profile.id && r.route.kind === 'list')!;

/** Every service's write answers `status`/`code` in the gateway envelope, nothing applied. */
async function writesRefused(status: number, code: string, message: RegExp) {
  for (const rc of WRITES) {
    const id = await rc.prepare(t);
    await holdFault(async () => {
      const res = await h.inject(withToken(rc.request(t.projectId, id), t.root.token));
      expectGatewayError(res, status, code);
      expect(JSON.parse(res.body).error_msg, rc.name).toMatch(message);
    });
    expect(await adminTags(h, t.projectId, rc.profile.resourceType, id), rc.name).toEqual(INITIAL);
    // The fault over, the same write succeeds.
    const again = await h.inject(withToken(rc.request(t.projectId, id), t.root.token));
    expect(again.statusCode, again.body).toBe(rc.successStatus);
  }
}

/** Runs `during` while the fault of the current test holds. */
let holdFault: (during: () => Promise<void>) => Promise<void> = (during) => during();

if (process.env.TAGPLANE_TEST_STORE !== 'postgres') {
  describe('SQLite', () => {
    const file = () => h.databaseUrl.slice('sqlite:'.length);

    it('the write lock held by another connection past the busy timeout: 504 APIG.0203, reads go on', async () => {
      await sql`pragma busy_timeout = 200`.execute(h.store.db);
      const rc = listing(WRITES[0]!);
      const readable = await rc.prepare(t);
      holdFault = async (during) => {
        const other = new Database(file());
        other.exec('begin immediate');
        try {
          await during();
          // Readers are not blocked by the writer (WAL).
          const read = await h.inject(withToken(rc.request(t.projectId, readable), t.root.token));
          expect(read.statusCode).toBe(200);
        } finally {
          other.exec('rollback');
          other.close();
        }
      };
      await writesRefused(504, 'APIG.0203', /^Backend timeout/);
    });

    it('a database that cannot be written: 502 APIG.0202, reads go on', async () => {
      const rc = listing(WRITES[0]!);
      const readable = await rc.prepare(t);
      holdFault = async (during) => {
        await sql`pragma query_only = 1`.execute(h.store.db);
        try {
          await during();
          const read = await h.inject(withToken(rc.request(t.projectId, readable), t.root.token));
          expect(read.statusCode).toBe(200);
        } finally {
          await sql`pragma query_only = 0`.execute(h.store.db);
        }
      };
      await writesRefused(502, 'APIG.0202', /^Backend unavailable/);
    });

    it('a full database file: 502 APIG.0202, the write not applied', async () => {
      const node = await t.resource('modelarts_hyperinstance', INITIAL);
      // No free page left, and the file may not grow by one.
      await sql`vacuum`.execute(h.store.db);
      const { rows } = await sql<{ page_count: number }>`pragma page_count`.execute(h.store.db);
      await sql.raw(`pragma max_page_count = ${rows[0]!.page_count}`).execute(h.store.db);
      try {
        // 19 tags of 383 CJK characters (the supernode has one): far more than the free room
        // of any page.
        const big = Array.from({ length: 19 }, (_, i) => ({
          key: `${i}${'键'.repeat(127)}`.slice(0, 128),
          value: '值'.repeat(255),
        }));
        const res = await h.inject({
          method: 'POST',
          url: `/v1/${t.projectId}/dev-servers/hyperinstance/${node}/tags/create`,
          headers: { 'x-auth-token': t.root.token, 'content-type': 'application/json' },
          payload: JSON.stringify({ tags: big }),
        });
        expectGatewayError(res, 502, 'APIG.0202');
        expect(JSON.parse(res.body).error_msg).toMatch(/^Backend unavailable/);
      } finally {
        await sql`pragma max_page_count = 1073741823`.execute(h.store.db);
      }
      expect(await adminTags(h, t.projectId, 'modelarts_hyperinstance', node)).toEqual(INITIAL);
    });
  });
} else {
  describe('PostgreSQL', () => {
    const run = async (statement: string, params: unknown[] = []) => {
      const client = new pg.Client({ connectionString: h.databaseUrl });
      await client.connect();
      try {
        // Whatever the database's defaults are made to be by a test.
        await client.query('set default_transaction_read_only = off');
        return await client.query(statement, params);
      } finally {
        await client.end();
      }
    };

    const name = () => new URL(h.databaseUrl).pathname.slice(1);
    /** The server's pooled connections take the database's settings when opened again. */
    const reconnect = async () => {
      await run(
        `select pg_terminate_backend(pid) from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid()`,
      );
      await new Promise((r) => setTimeout(r, 200));
    };

    it('a server that takes no writes (as a standby): 502 APIG.0202, nothing applied, reads go on', async () => {
      const rc = listing(WRITES[0]!);
      const readable = await rc.prepare(t);
      holdFault = async (during) => {
        await run(`alter database ${name()} set default_transaction_read_only = on`);
        await reconnect();
        try {
          await during();
          const read = await h.inject(withToken(rc.request(t.projectId, readable), t.root.token));
          expect(read.statusCode).toBe(200);
        } finally {
          await run(`alter database ${name()} reset default_transaction_read_only`);
          await reconnect();
        }
      };
      await writesRefused(502, 'APIG.0202', /^Backend unavailable/);
    });

    it('a statement cancelled by its statement_timeout (query_canceled): 504 APIG.0203, nothing applied', async () => {
      await run(`alter database ${name()} set statement_timeout = 300`);
      await reconnect();
      holdFault = async (during) => {
        // Another transaction holds every resource row: the write waits for its lock until
        // the statement's time limit cancels it.
        const locker = new pg.Client({ connectionString: h.databaseUrl });
        await locker.connect();
        await locker.query('set statement_timeout = 0');
        await locker.query('begin');
        await locker.query('select 1 from resources for update');
        try {
          await during();
        } finally {
          await locker.query('rollback');
          await locker.end();
        }
      };
      try {
        await writesRefused(504, 'APIG.0203', /^Backend timeout/);
      } finally {
        await run(`alter database ${name()} reset statement_timeout`);
      }
    });

    /** Runs a statement on the server's maintenance database, not the one under test. */
    const onServer = async (statement: string) => {
      const url = new URL(h.databaseUrl);
      url.pathname = '/postgres';
      const client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      try {
        return await client.query(statement);
      } finally {
        await client.end();
      }
    };
    const dropConnections = (db: string) =>
      onServer(
        `select pg_terminate_backend(pid) from pg_stat_activity where datname = '${db}' and pid <> pg_backend_pid()`,
      );

    it('a database that refuses connections (55000): 502 APIG.0202, nothing applied', async () => {
      holdFault = async (during) => {
        await onServer(`alter database ${name()} allow_connections false`);
        await dropConnections(name());
        try {
          await during();
        } finally {
          await onServer(`alter database ${name()} allow_connections true`);
        }
      };
      await writesRefused(502, 'APIG.0202', /^Backend unavailable/);
    });

    it('a database that does not exist (3D000): 502 APIG.0202, nothing applied', async () => {
      const db = name();
      // A terminated backend leaves a moment later, and the server under test reconnects at
      // once: refuse new connections first, then retry the rename until the last one is gone.
      const rename = async (from: string, to: string) => {
        await onServer(`alter database ${from} allow_connections false`);
        for (let attempt = 0; ; attempt++) {
          await dropConnections(from);
          try {
            await onServer(`alter database ${from} rename to ${to}`);
            break;
          } catch (err) {
            if (attempt >= 50) throw err;
            await new Promise((r) => setTimeout(r, 50));
          }
        }
        await onServer(`alter database ${to} allow_connections true`);
      };
      holdFault = async (during) => {
        await rename(db, `${db}_gone`);
        try {
          await during();
        } finally {
          await rename(`${db}_gone`, db);
        }
      };
      await writesRefused(502, 'APIG.0202', /^Backend unavailable/);
    });
  });
}
