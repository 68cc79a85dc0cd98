import type { PostgresPool } from 'kysely';
import pg from 'pg';
import { markStoreError } from './store-errors.js';

/** int8 (bigint) columns and counts come back as numbers, as they do on SQLite. */
export const pgTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * SQL of the hot-path queries (see prepared.ts), each with a statement name. On PostgreSQL they
 * run as named prepared statements: parsed and planned once per connection, not on every call.
 */
const namedStatements = new Map<string, string>();

export function nameStatement(sqlText: string): void {
  if (!namedStatements.has(sqlText))
    namedStatements.set(sqlText, `tagplane_${namedStatements.size}`);
}

const NAMED = Symbol('tagplane.namedStatements');

/** Set on a client whose query got no answer in time: it is closed, never used again. */
const STALLED = Symbol('tagplane.stalled');

/** node-postgres's own message when its `query_timeout` fires (see store-errors.ts). */
const QUERY_READ_TIMEOUT = /^Query read timeout/;

/** Routes the hot-path queries of a pg client through named prepared statements. */
function useNamedStatements(client: pg.PoolClient): void {
  const c = client as pg.PoolClient & { [NAMED]?: true };
  if (c[NAMED]) return;
  c[NAMED] = true;
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as { query: unknown }).query = (text: unknown, values?: unknown, callback?: unknown) => {
    if (callback !== undefined) return query(text, values, callback);
    const name = typeof text === 'string' ? namedStatements.get(text) : undefined;
    const run = name && Array.isArray(values) ? query({ name, text, values }) : query(text, values);
    // What fails here failed on the store's connection. (A cursor is not a promise.)
    return run instanceof Promise
      ? run.catch((err: unknown) => {
          // The server never answered: whatever the connection receives later belongs to a
          // query nobody waits for.
          if (err instanceof Error && QUERY_READ_TIMEOUT.test(err.message)) {
            (client as { [STALLED]?: true })[STALLED] = true;
          }
          return Promise.reject(markStoreError(err));
        })
      : run;
  };
}

/**
 * How much longer than a statement's time limit the client waits for the server's answer before
 * it gives the connection up as stalled: time for the server's own cancellation to arrive.
 */
export const STALL_GRACE_MS = 1_000;

/**
 * A pg pool whose connections never go back to the pool inside a transaction: a connection
 * released while its transaction is open or failed (a rollback that could not be sent) is
 * closed instead of being handed to the next request. With `statementTimeoutMs`, every
 * statement on its connections carries that `statement_timeout`, and a connection whose server
 * has not answered a little after it (a stalled network) is given up and closed.
 */
export function guardedPool(
  url: string,
  size: number,
  limits: { statementTimeoutMs?: number } = {},
): PostgresPool {
  const limit = limits.statementTimeoutMs;
  const pool = new pg.Pool({
    connectionString: url,
    max: size,
    ...(limit !== undefined
      ? { statement_timeout: limit, query_timeout: limit + STALL_GRACE_MS }
      : {}),
    // Opening a connection waits no longer than a statement may run.
    connectionTimeoutMillis: Math.min(5_000, limit ?? 5_000),
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: 'tagplane',
    types: pgTypes,
  });
  // An idle client losing its server must not crash the process; the pool drops it and the next
  // query opens a new connection.
  pool.on('error', () => {});
  return {
    async connect() {
      const client = await pool.connect().catch((err: unknown) => {
        throw markStoreError(err);
      });
      useNamedStatements(client);
      // A connection lost while checked out is reported to the query using it; node-postgres
      // also emits it on the client, which would end the process without a listener.
      const onLost = () => {};
      client.on('error', onLost);
      const release = client.release;
      client.release = (err?: Error | boolean) => {
        client.off('error', onLost);
        if ((client as { [STALLED]?: true })[STALLED]) {
          release(new Error('connection stalled'));
        } else if (err === undefined && client.getTransactionStatus() !== 'I') {
          release(new Error('connection released inside a transaction'));
        } else {
          release(err);
        }
      };
      return client;
    },
    end: () => pool.end(),
  };
}
