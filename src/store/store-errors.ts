// What a database error means for the request that met it (a store fault the gateway answers,
// or a bug), and which failures another attempt of a transaction can cure: both databases' codes
// in one place, so the outcome of a failure does not depend on where it was caught.

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/**
 * Errors raised by the store's own connections (see `markStoreError`). A network code means a
 * store fault only on them: the same ECONNRESET from a client's socket (a request aborted
 * mid-body) is the client's doing, not the store's.
 */
const RAISED_BY_STORE = new WeakSet<object>();

/** Records that `err` came from a store connection; returns it. */
export function markStoreError<E>(err: E): E {
  if (typeof err === 'object' && err !== null) RAISED_BY_STORE.add(err);
  return err;
}

/**
 * What node-postgres reports, without a SQLSTATE, when a connection dies under a query or the
 * pool cannot open one in time.
 */
const PG_CLIENT_CONNECTION_ERROR =
  /^(Connection terminated|Client has encountered a connection error|Client was closed|timeout exceeded when trying to connect)/;

/** node-postgres gave up waiting for a query's answer (its `query_timeout`). */
const PG_CLIENT_QUERY_TIMEOUT = /^Query read timeout/;

/**
 * SQLite: a full disk, an I/O error, a file that cannot be opened or written. Nothing was
 * applied, and a later attempt may succeed.
 */
const SQLITE_UNAVAILABLE = /^SQLITE_(FULL|IOERR|CANTOPEN|READONLY)/;

/** SQLite: the write lock held by another process past the busy timeout. */
const SQLITE_TIMEOUT = /^SQLITE_(BUSY|LOCKED)/;

/** A read stopped because it ran past the query time limit (see read-pool.ts). */
export class QueryTimeoutError extends Error {
  readonly code = 'TAGPLANE_QUERY_TIMEOUT';
  constructor(limitMs: number) {
    super(`the query did not finish within its time limit of ${limitMs} ms`);
    this.name = 'QueryTimeoutError';
    markStoreError(this);
  }
}

/** `unavailable`: the store cannot be reached or written; `timeout`: a statement too slow. */
export type StoreFault = 'unavailable' | 'timeout';

/**
 * The store fault an error is, if it is one: not the request's fault, and answered by the
 * gateway (502 for `unavailable`, 504 for `timeout`). Anything else (a bad statement, a broken
 * constraint) is a bug: undefined.
 */
export function storeFault(err: unknown): StoreFault | undefined {
  // Connecting to a name with several addresses fails with one error per address.
  if (err instanceof AggregateError) {
    const marked = RAISED_BY_STORE.has(err);
    for (const e of err.errors) {
      const fault = storeFault(marked ? markStoreError(e) : e);
      if (fault) return fault;
    }
    return undefined;
  }
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') {
    // PostgreSQL: a statement cancelled by its timeout (57014), a lock not granted within
    // lock_timeout (55P03).
    if (
      code === '57014' ||
      code === '55P03' ||
      SQLITE_TIMEOUT.test(code) ||
      code === 'TAGPLANE_QUERY_TIMEOUT'
    )
      return 'timeout';
    if (
      (NETWORK_CODES.has(code) && RAISED_BY_STORE.has(err as object)) ||
      // PostgreSQL: connection exceptions (08…) but a protocol violation (08P01), which is the
      // statement's fault: one with more parameters than a bind message carries (65,535) gets
      // it, on a connection that still works; shutdown, crash recovery, a dropped database
      // (57P01–57P04); insufficient resources: a full disk, no memory, too many connections
      // (53…); an I/O error (58030); a server that takes no writes, as a standby (25006); a
      // database that refuses connections (55000, "object not in prerequisite state", as
      // `datallowconn = false` gives it) or does not exist (3D000).
      (/^08/.test(code) && code !== '08P01') ||
      /^57P0[1-4]$/.test(code) ||
      /^53/.test(code) ||
      code === '58030' ||
      code === '25006' ||
      code === '55000' ||
      code === '3D000' ||
      SQLITE_UNAVAILABLE.test(code)
    ) {
      return 'unavailable';
    }
    return undefined;
  }
  if (err instanceof Error) {
    if (PG_CLIENT_QUERY_TIMEOUT.test(err.message)) return 'timeout';
    if (PG_CLIENT_CONNECTION_ERROR.test(err.message)) return 'unavailable';
  }
  return undefined;
}

/** Errors meaning the database cannot be reached, as opposed to a bad query or a slow one. */
export function isStoreUnavailable(err: unknown): boolean {
  return storeFault(err) === 'unavailable';
}

/**
 * How long to wait before running a failed write transaction again (`attempt` counts from 1;
 * `began`: its BEGIN had run), or undefined to give up. Another attempt of the whole transaction
 * cures a serialization failure or deadlock, and a unique violation, which a concurrent first
 * insert of the same row causes (the retry reads that row and takes the path for an existing one).
 */
export function retryDelay(err: unknown, attempt: number, began: boolean): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  const backoff = () => Math.min(200, 5 * 2 ** attempt) * (0.5 + Math.random());
  if ((code === '40001' || code === '40P01') && attempt < 10) return backoff();
  if (code === '23505' && attempt < 3) return backoff();
  // A pooled connection the server dropped (a restart) fails before anything ran: a fresh
  // connection may succeed at once. (Not after waiting the pool's whole timeout already.)
  const waitedForPool =
    err instanceof Error &&
    (err.message.startsWith('timeout exceeded') ||
      err.message.includes('due to connection timeout'));
  // (SQLite has no connection to lose: its errors have waited out the busy timeout already.)
  if (
    !began &&
    attempt < 2 &&
    !waitedForPool &&
    isStoreUnavailable(err) &&
    !(typeof code === 'string' && code.startsWith('SQLITE_'))
  )
    return 0;
  return undefined;
}
