import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import {
  type Dialect,
  Kysely,
  type Migration,
  type MigrationProvider,
  Migrator,
  PostgresDialect,
  type PostgresPool,
  SqliteDialect,
  sql,
} from 'kysely';
import pg from 'pg';
import {
  IDENTITY_CHANNEL,
  IDENTITY_VERSION_SETTING,
  takeIdentityChanged,
} from './identity-version.js';
import { LOCKOUT_CHANNEL, LOCKOUT_VERSION_SETTING, takeLockoutChanged } from './lockout-version.js';
import { type MigrationDialect, migrations } from './migrations/index.js';
import type { Database } from './schema.js';

/** A query executor: the database itself or a connection inside a transaction. */
export type Executor = Kysely<Database>;

/** Where the two databases differ, as named capabilities rather than dialect checks. */
export interface StoreCapabilities {
  readonly dialect: MigrationDialect;
  /** `SELECT … FOR UPDATE` locks rows (PostgreSQL). SQLite serialises writers instead. */
  readonly rowLocks: boolean;
  /** Statement that opens a write transaction. */
  readonly beginWrite: string;
  /** Statement that opens a read-only transaction seeing one consistent snapshot. */
  readonly beginRead: string;
  /**
   * `f(haystack, needle) > 0` is a case-sensitive substring test that takes every character of
   * the needle literally (SQLite's LIKE ignores ASCII case, and LIKE gives `%` and `_` meaning).
   */
  readonly substringFunction: 'instr' | 'strpos';
  /**
   * How resource names are searched by substring. `fts5`: an FTS5 trigram table
   * (`resource_names`) finds candidates for needles of three characters or more. `like`:
   * `name LIKE '%…%'` with `%`, `_` and `\` escaped, which a pg_trgm index serves where present;
   * candidates are found the same way, from a window of the needle (see nameCandidates).
   */
  readonly nameSearch: 'fts5' | 'like';
  /**
   * `INDEXED BY` pins the index of a lookup. SQLite plans without statistics and, for a probe
   * that the primary key and a longer index both serve, prefers the primary key even where the
   * other gives far better locality; PostgreSQL plans from statistics and has no such clause.
   */
  readonly indexHints: boolean;
  /**
   * Writers on several connections run at once, so a transaction can fail on a conflict with
   * another (deadlock, racing first insert) and is retried. SQLite has one writer at a time.
   */
  readonly concurrentWriters: boolean;
  /**
   * `rid` comes from a sequence that does not see ids inserted explicitly (a restore); it must be
   * moved past them. SQLite allocates after the largest id present.
   */
  readonly ridSequence: boolean;
  /**
   * Resources are keyed by (project_id, rid), so a lookup by rid names the project too
   * (PostgreSQL, ready to distribute by project). On SQLite rid is the rowid, found by itself;
   * told the project as well, its planner would rather walk the project's whole index.
   */
  readonly ridKeyedByProject: boolean;
  /**
   * Write transactions that arrive together share one database transaction, each inside its own
   * savepoint, and one commit (SQLite: one writer, and a commit costs a sync to disk). Each keeps
   * its own all-or-nothing outcome, and none is answered before the shared commit is on disk.
   */
  readonly groupCommit: boolean;
  /**
   * `NOT EXISTS` of one posting list against another runs in rid order, as written: one probe
   * per row (SQLite). PostgreSQL 15 cannot walk the inner side of an anti-join in index order
   * (its restrictions there do not form equivalence classes, so the index's order on rid is not
   * seen): it hashes or sorts the whole excluded list, spilling to disk when that is long, while
   * the semi-join `EXISTS` of the same lists merges them in rid order. Without it, counts with
   * exclusions are taken by subtraction, count(D) − count(D and N).
   */
  readonly orderedAntiJoins: boolean;
  /**
   * The database plans joins from statistics that `ANALYZE` gathers (PostgreSQL). Until it has
   * run on freshly loaded tables the planner takes them for nearly empty and may nest full index
   * scans inside each other; so whatever loads rows in bulk analyses the tables after. SQLite's
   * planner needs none: the query store pins the plans that matter.
   */
  readonly plansFromStatistics: boolean;
  /**
   * Each statement is a round trip to a server (PostgreSQL), which costs more than a few more
   * rows in one statement. SQLite runs in the process: a statement costs little, and each row
   * returned costs the object built for it.
   */
  readonly statementRoundTrips: boolean;
}

export type DatabaseLocation =
  | { readonly kind: 'sqlite'; readonly path: string }
  | { readonly kind: 'postgres'; readonly url: string };

/** Parses `sqlite:PATH`, `sqlite::memory:`, `postgres://…` and `postgresql://…`. */
export function parseDatabaseUrl(url: string): DatabaseLocation {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    return { kind: 'postgres', url };
  }
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path === '') throw new Error(`database URL '${url}' names no file`);
    return { kind: 'sqlite', path };
  }
  throw new Error(
    `unsupported database URL '${redactUrl(url)}': use sqlite:PATH, sqlite::memory: or postgres://…`,
  );
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]+:)[^@]*@/i, '$1***@');
}

export interface StoreOptions {
  /** PostgreSQL pool size. */
  readonly poolSize?: number;
  /** SQLite: how long a writer waits for another process's write lock (default 10 s). */
  readonly busyTimeoutMs?: number;
  /** Fail rather than create a new SQLite database file. */
  readonly mustExist?: boolean;
}

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
    for (const e of err.errors) {
      const fault = storeFault(e);
      if (fault) return fault;
    }
    return undefined;
  }
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') {
    // PostgreSQL: a statement cancelled by its timeout (57014), a lock not granted within
    // lock_timeout (55P03).
    if (code === '57014' || code === '55P03' || SQLITE_TIMEOUT.test(code)) return 'timeout';
    if (
      NETWORK_CODES.has(code) ||
      // PostgreSQL: connection exceptions (08…); shutdown, crash recovery, a dropped database
      // (57P01–57P04); insufficient resources: a full disk, no memory, too many connections
      // (53…); an I/O error (58030); a server that takes no writes, as a standby (25006).
      /^08/.test(code) ||
      /^57P0[1-4]$/.test(code) ||
      /^53/.test(code) ||
      code === '58030' ||
      code === '25006' ||
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
 * Failures another attempt of the whole transaction can cure: a serialization failure or
 * deadlock, and a unique violation, which a concurrent first insert of the same row causes (the
 * retry reads that row and takes the path for an existing one).
 */
function retryDelay(err: unknown, attempt: number, began: boolean): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  const backoff = () => Math.min(200, 5 * 2 ** attempt) * (0.5 + Math.random());
  if ((code === '40001' || code === '40P01') && attempt < 10) return backoff();
  if (code === '23505' && attempt < 3) return backoff();
  // A pooled connection the server dropped (a restart) fails before anything ran: a fresh
  // connection may succeed at once. (Not after waiting the pool's whole timeout already.)
  const waitedForPool = err instanceof Error && err.message.startsWith('timeout exceeded');
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

function newerSchemaError(unknown: readonly string[]): Error {
  return new Error(
    `the database schema is newer than this version of tagplane knows (unknown migrations: ${unknown.join(', ')}); upgrade tagplane`,
  );
}

/** int8 (bigint) columns and counts come back as numbers, as they do on SQLite. */
const pgTypes: pg.CustomTypesConfig = {
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

/** Routes the hot-path queries of a pg client through named prepared statements. */
function useNamedStatements(client: pg.PoolClient): void {
  const c = client as pg.PoolClient & { [NAMED]?: true };
  if (c[NAMED]) return;
  c[NAMED] = true;
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as { query: unknown }).query = (text: unknown, values?: unknown, callback?: unknown) => {
    const name = typeof text === 'string' ? namedStatements.get(text) : undefined;
    if (name && Array.isArray(values) && callback === undefined) {
      return query({ name, text, values });
    }
    return callback === undefined ? query(text, values) : query(text, values, callback);
  };
}

/**
 * A pg pool whose connections never go back to the pool inside a transaction: a connection
 * released while its transaction is open or failed (a rollback that could not be sent) is
 * closed instead of being handed to the next request.
 */
function guardedPool(url: string, size: number): PostgresPool {
  const pool = new pg.Pool({
    connectionString: url,
    max: size,
    connectionTimeoutMillis: 5_000,
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
      const client = await pool.connect();
      useNamedStatements(client);
      // A connection lost while checked out is reported to the query using it; node-postgres
      // also emits it on the client, which would end the process without a listener.
      const onLost = () => {};
      client.on('error', onLost);
      const release = client.release;
      client.release = (err?: Error | boolean) => {
        client.off('error', onLost);
        if (err === undefined && client.getTransactionStatus() !== 'I') {
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

/**
 * better-sqlite3 prepares a statement for every query Kysely sends; caching them by SQL text
 * removes that cost from the hot path. Kysely's driver runs one query at a time on the single
 * connection, so a cached statement is never in use twice.
 */
function cachingSqlite(db: BetterSqlite3.Database) {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => db.close(),
    prepare(query: string) {
      let stmt = cache.get(query);
      if (!stmt) {
        if (cache.size >= 1000) cache.clear();
        stmt = db.prepare(query);
        cache.set(query, stmt);
      }
      return stmt;
    },
  };
}

/** How often, at most, a SQLite store looks for other processes' identity changes. */
const IDENTITY_POLL_MS = 10;

interface QueuedWrite {
  readonly fn: (tx: Executor) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export class Store {
  /** Writes waiting for the next shared transaction (group commit). */
  private queued: QueuedWrite[] = [];
  private flushScheduled = false;
  private readonly identityListeners = new Set<() => void>();
  private readonly lockoutListeners = new Set<() => void>();
  /** SQLite: the last `data_version`, identity version and lockout version seen. */
  private seen:
    | { dataVersion: number; identityVersion: unknown; lockoutVersion: unknown }
    | undefined;
  /** SQLite: prepared once; `pragma()` would prepare it again on every call. */
  private dataVersionStatement: BetterSqlite3.Statement | undefined;
  private lastPoll = 0;
  /** PostgreSQL: the connection listening for identity changes, while it listens. */
  private listener: pg.Client | undefined;
  private listening = false;
  private closed = false;

  private constructor(
    readonly db: Kysely<Database>,
    readonly caps: StoreCapabilities,
    readonly location: DatabaseLocation,
    /** The SQLite connection itself, for the few calls Kysely has no words for. */
    private readonly sqlite?: BetterSqlite3.Database,
  ) {}

  static open(location: DatabaseLocation, options: StoreOptions = {}): Store {
    let dialect: Dialect;
    let caps: StoreCapabilities;
    let sqlite: BetterSqlite3.Database | undefined;
    if (location.kind === 'sqlite') {
      const memory = location.path === ':memory:';
      if (!memory && options.mustExist && !existsSync(location.path)) {
        throw new Error(`there is no SQLite database at ${location.path}`);
      }
      if (!memory) mkdirSync(dirname(resolve(location.path)), { recursive: true });
      const raw = new BetterSqlite3(location.path);
      if (!memory) raw.pragma('journal_mode = WAL');
      // FULL: a commit is on disk before the response that acknowledges it is sent.
      raw.pragma('synchronous = FULL');
      raw.pragma('foreign_keys = ON');
      raw.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 10_000}`);
      raw.pragma('cache_size = -65536');
      // Pages are read through a memory map rather than a read call each: large databases are
      // probed at random (one posting list against another) far faster this way.
      if (!memory) raw.pragma('mmap_size = 1073741824');
      raw.pragma('temp_store = MEMORY');
      sqlite = raw;
      dialect = new SqliteDialect({ database: cachingSqlite(raw) });
      caps = {
        dialect: 'sqlite',
        rowLocks: false,
        beginWrite: 'begin immediate',
        beginRead: 'begin',
        substringFunction: 'instr',
        nameSearch: 'fts5',
        indexHints: true,
        concurrentWriters: false,
        ridSequence: false,
        ridKeyedByProject: false,
        groupCommit: true,
        orderedAntiJoins: true,
        plansFromStatistics: false,
        statementRoundTrips: false,
      };
    } else {
      dialect = new PostgresDialect({ pool: guardedPool(location.url, options.poolSize ?? 10) });
      caps = {
        dialect: 'postgres',
        rowLocks: true,
        beginWrite: 'begin',
        beginRead: 'begin transaction isolation level repeatable read, read only',
        substringFunction: 'strpos',
        nameSearch: 'like',
        indexHints: false,
        concurrentWriters: true,
        ridSequence: true,
        ridKeyedByProject: true,
        groupCommit: false,
        orderedAntiJoins: false,
        plansFromStatistics: true,
        statementRoundTrips: true,
      };
    }
    return new Store(new Kysely<Database>({ dialect }), caps, location, sqlite);
  }

  /**
   * Calls `listener` whenever identity data (domains, projects, users, access keys) may have
   * changed: at once after a commit of this process that changed it; for other processes' commits
   * as soon as they are seen (see `identityTracked` and `pollIdentity`). Returns an unsubscribe.
   */
  onIdentityChange(listener: () => void): () => void {
    this.identityListeners.add(listener);
    if (this.location.kind === 'postgres' && !this.listener && !this.closed) this.listen();
    return () => this.identityListeners.delete(listener);
  }

  /**
   * Calls `listener` whenever lockout state that other nodes must see may have changed (see
   * lockout-version.ts), as `onIdentityChange` does for identity data, on the same connection
   * and polling but a channel of its own; and whenever changes may have been missed (the
   * listening connection lost or regained). Returns an unsubscribe.
   */
  onLockoutChange(listener: () => void): () => void {
    this.lockoutListeners.add(listener);
    if (this.location.kind === 'postgres' && !this.listener && !this.closed) this.listen();
    return () => this.lockoutListeners.delete(listener);
  }

  /**
   * Whether other processes' identity (and lockout) changes are being seen right now. While they
   * are not (the PostgreSQL listening connection is down), nothing may be served from a cache.
   */
  identityTracked(): boolean {
    return this.location.kind === 'sqlite' || this.listening;
  }

  /**
   * SQLite: notices other processes' commits (`PRAGMA data_version` changes only for those) and,
   * when one changed the identity (or lockout) version, tells those listeners. Reading it takes a read lock,
   * which costs a system call, so it is read at most every 10 ms: another process's identity
   * change is seen within 10 ms. This process's own changes are acted on at commit.
   */
  pollIdentity(): void {
    const raw = this.sqlite;
    if (!raw?.open) return;
    const now = performance.now();
    if (now - this.lastPoll < IDENTITY_POLL_MS) return;
    this.lastPoll = now;
    this.dataVersionStatement ??= raw.prepare('pragma data_version').pluck();
    const dataVersion = this.dataVersionStatement.get() as number;
    if (this.seen?.dataVersion === dataVersion) return;
    const rows = raw
      .prepare('select name, value from settings where name in (?, ?)')
      .all(IDENTITY_VERSION_SETTING, LOCKOUT_VERSION_SETTING) as { name: string; value: string }[];
    const version = (name: string) => rows.find((r) => r.name === name)?.value;
    const identityVersion = version(IDENTITY_VERSION_SETTING);
    const lockoutVersion = version(LOCKOUT_VERSION_SETTING);
    const before = this.seen;
    this.seen = { dataVersion, identityVersion, lockoutVersion };
    if (before === undefined) return;
    if (before.identityVersion !== identityVersion) this.identityChangedNow();
    if (before.lockoutVersion !== lockoutVersion) this.lockoutChangedNow();
  }

  private identityChangedNow(): void {
    for (const listener of this.identityListeners) listener();
  }

  private lockoutChangedNow(): void {
    for (const listener of this.lockoutListeners) listener();
  }

  /** Marks from a transaction's identity and lockout writes are acted on once it has committed. */
  private afterCommit(conn: Executor): void {
    if (takeIdentityChanged(conn)) this.identityChangedNow();
    if (takeLockoutChanged(conn)) this.lockoutChangedNow();
  }

  /** PostgreSQL: one connection listens for identity changes, reconnecting when it drops. */
  private listen(): void {
    if (this.location.kind !== 'postgres') return;
    const client = new pg.Client({ connectionString: this.location.url, types: pgTypes });
    this.listener = client;
    const lost = () => {
      if (this.listener !== client) return;
      this.listener = undefined;
      this.listening = false;
      // Changes may be missed while deaf: drop what is cached, and keep trying to listen again.
      this.identityChangedNow();
      this.lockoutChangedNow();
      client.end().catch(() => {});
      if (!this.closed && this.identityListeners.size + this.lockoutListeners.size > 0) {
        setTimeout(() => {
          if (!this.closed && !this.listener) this.listen();
        }, 1_000).unref();
      }
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (msg) => {
      if (msg.channel === LOCKOUT_CHANNEL) this.lockoutChangedNow();
      else this.identityChangedNow();
    });
    client
      .connect()
      .then(() => client.query(`listen ${IDENTITY_CHANNEL}; listen ${LOCKOUT_CHANNEL}`))
      .then(() => {
        if (this.listener !== client) return;
        this.listening = true;
        // Anything cached before listening began may already be stale.
        this.identityChangedNow();
        this.lockoutChangedNow();
      })
      .catch(lost);
  }

  /**
   * Runs `fn` in one write transaction on one connection: everything it does commits together or
   * not at all. On SQLite the transaction takes the write lock at once, so two writers never
   * deadlock upgrading a read lock. Where concurrent writers on several connections can collide
   * (serialization failure, deadlock, a racing first insert), the whole transaction runs again,
   * so `fn` must do nothing outside the database that cannot be repeated; `once` turns that off
   * for work that consumes its input as it goes.
   */
  async transaction<T>(
    fn: (tx: Executor) => Promise<T>,
    options: { once?: boolean } = {},
  ): Promise<T> {
    if (this.caps.groupCommit) return this.enqueueWrite(fn);
    for (let attempt = 1; ; attempt++) {
      let began = false;
      try {
        return await this.inTransaction(this.caps.beginWrite, fn, () => {
          began = true;
        });
      } catch (err) {
        const delay =
          this.caps.concurrentWriters && !options.once
            ? retryDelay(err, attempt, began)
            : undefined;
        if (delay === undefined) throw err;
        if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private enqueueWrite<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queued.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      this.scheduleFlush();
    });
  }

  /**
   * The next shared transaction starts once the event loop has taken in the requests that have
   * arrived, so the writes of concurrent requests go to disk together.
   */
  private scheduleFlush(): void {
    if (this.flushScheduled || this.queued.length === 0) return;
    this.flushScheduled = true;
    setImmediate(() => {
      // flushWrites never rejects: each write's failure goes to its own caller.
      void this.flushWrites().finally(() => {
        this.flushScheduled = false;
        this.scheduleFlush();
      });
    });
  }

  private async flushWrites(): Promise<void> {
    const batch = this.queued;
    this.queued = [];
    let outcomes: Outcome[];
    try {
      outcomes = await this.db.connection().execute(async (conn) => {
        await sql.raw(this.caps.beginWrite).execute(conn);
        try {
          const done: Outcome[] = [];
          for (const job of batch) {
            await sql.raw('savepoint tagplane_write').execute(conn);
            try {
              done.push({ ok: true, value: await job.fn(conn) });
            } catch (error) {
              // Undo this write only; a failure to do so fails the whole transaction below.
              await sql.raw('rollback to tagplane_write').execute(conn);
              done.push({ ok: false, error });
            }
            await sql.raw('release tagplane_write').execute(conn);
          }
          await sql.raw('commit').execute(conn);
          this.afterCommit(conn);
          return done;
        } catch (err) {
          await sql
            .raw('rollback')
            .execute(conn)
            .catch(() => {});
          throw err;
        }
      });
    } catch (err) {
      // Nothing was committed: no write of the batch is acknowledged.
      for (const job of batch) job.reject(err);
      return;
    }
    outcomes.forEach((o, i) => {
      const job = batch[i]!;
      if (o.ok) job.resolve(o.value);
      else job.reject(o.error);
    });
  }

  /** Runs `fn` in one read-only transaction: every query it makes sees the same snapshot. */
  async readTransaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    return this.inTransaction(this.caps.beginRead, fn);
  }

  private async inTransaction<T>(
    begin: string,
    fn: (tx: Executor) => Promise<T>,
    begun?: () => void,
  ): Promise<T> {
    return this.db.connection().execute(async (conn) => {
      await sql.raw(begin).execute(conn);
      begun?.();
      let result: T;
      try {
        result = await fn(conn);
      } catch (err) {
        // A failed rollback leaves the connection mid-transaction; the pool closes it.
        await sql
          .raw('rollback')
          .execute(conn)
          .catch(() => {});
        throw err;
      }
      await sql.raw('commit').execute(conn);
      this.afterCommit(conn);
      return result;
    });
  }

  /** Resolves when the database answers a trivial query. */
  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  private migrator(): Migrator {
    const all = migrations(this.caps.dialect);
    const provider: MigrationProvider = {
      getMigrations: async (): Promise<Record<string, Migration>> => all,
    };
    return new Migrator({ db: this.db, provider });
  }

  /** Every migration this code knows, in the order they run. */
  knownMigrations(): string[] {
    return Object.keys(migrations(this.caps.dialect)).sort();
  }

  /** Which known migrations have run and which are pending; `unknown` ran but this code lacks. */
  async schemaStatus(): Promise<{ executed: string[]; pending: string[]; unknown: string[] }> {
    const known = this.knownMigrations();
    const executed = await this.executedMigrations();
    const done = new Set(executed);
    return {
      executed,
      pending: known.filter((name) => !done.has(name)),
      unknown: executed.filter((name) => !known.includes(name)),
    };
  }

  /** Refuses a schema newer than this code, or one with migrations still to run. */
  async requireCurrentSchema(): Promise<void> {
    const { pending, unknown } = await this.schemaStatus();
    if (unknown.length > 0) throw newerSchemaError(unknown);
    if (pending.length > 0) {
      throw new Error(
        `the database schema is behind this version of tagplane (pending: ${pending.join(', ')}); run \`tagplane migrate\` first`,
      );
    }
  }

  /**
   * Brings the schema to the latest version, or only up to migration `to`. Returns how many
   * migrations ran and whether the database was new (this call created its schema). Refuses a
   * schema newer than this code, and a database already past `to`. Several processes may run it
   * at once: the migrator holds a lock (on PostgreSQL an advisory lock) while it works.
   */
  async migrate(to?: string): Promise<{ applied: number; fresh: boolean }> {
    const { executed, unknown } = await this.schemaStatus();
    if (unknown.length > 0) throw newerSchemaError(unknown);
    const migrator = this.migrator();
    let outcome: Awaited<ReturnType<Migrator['migrateToLatest']>>;
    if (to === undefined) {
      outcome = await migrator.migrateToLatest();
    } else {
      const known = this.knownMigrations();
      if (!known.includes(to)) throw new Error(`unknown schema version '${to}'`);
      const beyond = executed.filter((name) => name > to);
      if (beyond.length > 0) {
        throw new Error(`the database schema is already past ${to} (${beyond.join(', ')})`);
      }
      outcome = await migrator.migrateTo(to);
    }
    if (outcome.error) throw outcome.error;
    const ran = (outcome.results ?? []).filter((r) => r.status === 'Success');
    // New to this process: it ran the very first migration (of several processes starting on a
    // new database together, exactly one does).
    const first = this.knownMigrations()[0];
    return { applied: ran.length, fresh: ran.some((r) => r.migrationName === first) };
  }

  /** Names of the migrations already run on this database, in the order they ran. */
  async executedMigrations(): Promise<string[]> {
    const hasTable = await this.db.introspection
      .getTables({ withInternalKyselyTables: true })
      .then((tables) => tables.some((t) => t.name === 'kysely_migration'));
    if (!hasTable) return [];
    const rows = await sql<{
      name: string;
    }>`select name from kysely_migration order by name`.execute(this.db);
    return rows.rows.map((r) => r.name);
  }

  async close(): Promise<void> {
    this.closed = true;
    const listener = this.listener;
    this.listener = undefined;
    this.listening = false;
    await listener?.end().catch(() => {});
    await this.db.destroy();
  }
}
