import { type Dialect, Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import type { DatabaseLocation } from './database-url.js';
import { indexEventBatch, unindexedEvents } from './deferred-event-index.js';
import { EventIndexer, type IndexProgress } from './event-indexer.js';
import {
  type EventsListener,
  type EventWakeup,
  PostgresEventWakeup,
  SqliteEventWakeup,
} from './event-wakeup.js';
import type { Executor } from './executor.js';
import {
  type IdentityNotification,
  PostgresListening,
  SqlitePolling,
} from './identity-notification.js';
import { SchemaMigrator } from './migrator.js';
import { guardedPool } from './postgres-pool.js';
import { ReadPool } from './read-pool.js';
import { type ReadArgs, type ReadName, type ReadResult, runRead } from './read-procedures.js';
import type { Database } from './schema.js';
import { cachingSqlite, openSqlite } from './sqlite-connection.js';
import { capabilitiesOf, type StoreCapabilities } from './store-capabilities.js';
import { Transactions } from './transactions.js';

// The store's public face: code outside store/ imports what it needs from here. The modules this
// one is built from import each other directly, never this one, so no import goes round in a
// circle.
export {
  type DatabaseLocation,
  databaseDirectory,
  parseDatabaseUrl,
  redactUrl,
  sharedAcrossMachines,
} from './database-url.js';
export type { Executor } from './executor.js';
export { capabilitiesOf, type StoreCapabilities } from './store-capabilities.js';
export { isStoreUnavailable, type StoreFault, storeFault } from './store-errors.js';

export interface StoreOptions {
  /** PostgreSQL pool size. */
  readonly poolSize?: number;
  /** SQLite: how long a writer waits for another process's write lock (default 10 s). */
  readonly busyTimeoutMs?: number;
  /** Fail rather than create a new SQLite database file. */
  readonly mustExist?: boolean;
  /**
   * How long a query may run before it is stopped and answered as a timeout (504); absent: no
   * limit (the one-shot tools). On PostgreSQL every statement's `statement_timeout`. Migrations
   * are not bound by it.
   */
  readonly queryTimeoutMs?: number;
  /**
   * SQLite file: how many threads run the expensive reads (`read`), each on a read-only
   * connection of its own; absent or 0, they run on the calling thread. (A database in memory
   * cannot be shared with another thread: its reads always run on the calling thread, without a
   * time limit.)
   */
  readonly readThreads?: number;
  /**
   * Where the change log's per-resource index is filled in the background (SQLite), whether
   * `indexEventsInBackground` does so (default true). Off, only `indexEvents` fills it: tests use
   * that to hold events in the unindexed tail.
   */
  readonly backgroundEventIndex?: boolean;
}

/** The longest `ping` waits for the database (a readiness probe answers within it). */
export const PING_TIMEOUT_MS = 5_000;

/**
 * One database, SQLite or PostgreSQL, opened with what differs between the two decided here
 * once: the driver, the capabilities the code elsewhere branches on, how other processes'
 * identity changes are seen. Everything else works the same on both.
 */
export class Store {
  private readonly transactions: Transactions;
  private readonly migrator: SchemaMigrator;
  private readonly readPool: ReadPool | undefined;
  private readonly eventIndexer: EventIndexer | undefined;

  private constructor(
    readonly db: Kysely<Database>,
    readonly caps: StoreCapabilities,
    readonly location: DatabaseLocation,
    private readonly changes: IdentityNotification,
    private readonly options: StoreOptions,
    private readonly eventWakeup: EventWakeup,
  ) {
    this.eventIndexer = caps.deferredEventIndex
      ? new EventIndexer(
          (limit) => this.transaction((tx) => indexEventBatch(tx, limit)),
          () => unindexedEvents(db),
        )
      : undefined;
    this.transactions = new Transactions(
      db,
      caps,
      (conn, events) => {
        changes.afterCommit(conn);
        if (eventWakeup.afterCommit(conn, events)) this.eventIndexer?.appended();
      },
      () => eventWakeup.listening,
    );
    this.migrator = new SchemaMigrator(db, location.kind);
    this.readPool =
      location.kind === 'sqlite' && location.path !== ':memory:' && (options.readThreads ?? 0) > 0
        ? new ReadPool(location.path, options.readThreads!, options.queryTimeoutMs)
        : undefined;
  }

  static open(location: DatabaseLocation, options: StoreOptions = {}): Store {
    let dialect: Dialect;
    let changes: IdentityNotification;
    let eventWakeup: EventWakeup;
    if (location.kind === 'sqlite') {
      const raw = openSqlite(location.path, options);
      dialect = new SqliteDialect({ database: cachingSqlite(raw) });
      changes = new SqlitePolling(raw);
      eventWakeup = new SqliteEventWakeup(raw);
    } else {
      dialect = new PostgresDialect({
        pool: guardedPool(location.url, options.poolSize ?? 10, {
          ...(options.queryTimeoutMs !== undefined
            ? { statementTimeoutMs: options.queryTimeoutMs }
            : {}),
        }),
      });
      changes = new PostgresListening(location.url);
      eventWakeup = new PostgresEventWakeup(location.url);
    }
    return new Store(
      new Kysely<Database>({ dialect }),
      capabilitiesOf(location),
      location,
      changes,
      options,
      eventWakeup,
    );
  }

  /**
   * Calls `listener` whenever identity data (domains, projects, users, access keys) may have
   * changed: at once after a commit of this process that changed it; for other processes' commits
   * as soon as they are seen (see `identityTracked` and `pollIdentity`). Returns an unsubscribe.
   */
  onIdentityChange(listener: () => void): () => void {
    return this.changes.onIdentityChange(listener);
  }

  /**
   * Calls `listener` whenever lockout state that other nodes must see may have changed (see
   * lockout-version.ts), as `onIdentityChange` does for identity data, on the same connection
   * and polling but a channel of its own; and whenever changes may have been missed (the
   * listening connection lost or regained). Returns an unsubscribe.
   */
  onLockoutChange(listener: () => void): () => void {
    return this.changes.onLockoutChange(listener);
  }

  /**
   * Calls `listener` whenever the change log may have grown: after this process's commits that
   * appended events, and as soon as other processes' are seen (PostgreSQL: a notification;
   * SQLite: `PRAGMA data_version`, looked at every 20 ms while anyone listens). After a group
   * commit of this process, `listener` is given the events it appended (see `EventsListener`).
   * Returns an unsubscribe.
   */
  onEventsAppended(listener: EventsListener): () => void {
    return this.eventWakeup.on(listener);
  }

  /**
   * Adds every event not yet in the change log's per-resource index to it, where that index is
   * filled apart from the writes (`caps.deferredEventIndex`); answers how many. Reads are right
   * without it: this only shortens the part of the log they scan.
   */
  indexEvents(): Promise<number> {
    return this.eventIndexer?.catchUp() ?? Promise.resolve(0);
  }

  /**
   * Keeps that index caught up in the background from now on (a serving process): at once, and
   * a moment after each commit that appends events (see event-indexer.ts). Errors go to
   * `onError`, and the progress of a catch-up that lasts `progressMs` (5 s) or more to
   * `onProgress`, every `progressMs`. Nothing where the index is kept by the writes, or
   * `backgroundEventIndex` is off.
   */
  indexEventsInBackground(
    onError: (err: unknown) => void,
    onProgress?: (p: IndexProgress) => void,
    progressMs?: number,
  ): { stop(): Promise<void> } {
    const indexer = this.eventIndexer;
    if (!indexer || this.options.backgroundEventIndex === false) return { stop: async () => {} };
    indexer.start(onError, onProgress, progressMs);
    return { stop: () => indexer.stop() };
  }

  /**
   * Calls `listener` whenever the set of injected faults may have changed (see fault-version.ts),
   * as `onLockoutChange` does for lockout state. Returns an unsubscribe.
   */
  onFaultChange(listener: () => void): () => void {
    return this.changes.onFaultChange(listener);
  }

  /**
   * Whether other processes' identity (and lockout) changes are being seen right now. While they
   * are not (the PostgreSQL listening connection is down), nothing may be served from a cache.
   */
  identityTracked(): boolean {
    return this.changes.tracked();
  }

  /**
   * Looks for other processes' identity (and lockout) changes where that takes a look (SQLite,
   * at most every 10 ms); this process's own changes are acted on at commit. Called before a
   * cache answers.
   */
  pollIdentity(): void {
    this.changes.poll();
  }

  /**
   * Runs `fn` in one write transaction on one connection: everything it does commits together or
   * not at all. On SQLite the transaction takes the write lock at once, so two writers never
   * deadlock upgrading a read lock. Where concurrent writers on several connections can collide
   * (serialization failure, deadlock, a racing first insert), the whole transaction runs again,
   * so `fn` must do nothing outside the database that cannot be repeated; `once` turns that off
   * for work that consumes its input as it goes.
   */
  transaction<T>(fn: (tx: Executor) => Promise<T>, options: { once?: boolean } = {}): Promise<T> {
    return this.transactions.write(fn, options);
  }

  /** Runs `fn` in one read-only transaction: every query it makes sees the same snapshot. */
  readTransaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    return this.transactions.read(fn);
  }

  /**
   * Runs one of the expensive reads (read-procedures.ts) in a read-only transaction of its own:
   * on a SQLite file with read threads, on one of them, so that it never holds up this thread
   * (and is stopped past the query time limit); elsewhere here (PostgreSQL's statements carry
   * their own limit).
   */
  read<N extends ReadName>(name: N, args: ReadArgs<N>): Promise<ReadResult<N>> {
    if (this.readPool) return this.readPool.run(name, args);
    return this.transactions.read((tx) => runRead(name, tx, this.caps, args));
  }

  /**
   * Resolves when the database answers a trivial query; rejects when it fails or has not answered
   * within `PING_TIMEOUT_MS` (or the query time limit, when shorter).
   */
  async ping(): Promise<void> {
    const limit = Math.min(PING_TIMEOUT_MS, this.options.queryTimeoutMs ?? PING_TIMEOUT_MS);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the database did not answer within ${limit} ms`)),
        limit,
      );
    });
    try {
      await Promise.race([sql`select 1`.execute(this.db), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Every migration this code knows, in the order they run. */
  knownMigrations(): string[] {
    return this.migrator.knownMigrations();
  }

  /** Which known migrations have run and which are pending; `unknown` ran but this code lacks. */
  schemaStatus(): Promise<{ executed: string[]; pending: string[]; unknown: string[] }> {
    return this.migrator.schemaStatus();
  }

  /** Refuses a schema newer than this code, or one with migrations still to run. */
  requireCurrentSchema(): Promise<void> {
    return this.migrator.requireCurrentSchema();
  }

  /**
   * Brings the schema to the latest version, or only up to migration `to`. Returns how many
   * migrations ran and whether the database was new (this call created its schema). Refuses a
   * schema newer than this code, and a database already past `to`. Several processes may run it
   * at once: the migrator holds a lock (on PostgreSQL an advisory lock) while it works.
   */
  async migrate(to?: string): Promise<{ applied: number; fresh: boolean }> {
    const location = this.location;
    if (location.kind === 'sqlite' || this.options.queryTimeoutMs === undefined) {
      return this.migrator.migrate(to);
    }
    // A migration may rightly run longer than any query (an index over every tag): it runs on a
    // connection of its own, without the statements' time limit.
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: guardedPool(location.url, 1) }),
    });
    try {
      return await new SchemaMigrator(db, location.kind).migrate(to);
    } finally {
      await db.destroy();
    }
  }

  /** Names of the migrations already run on this database, in the order they ran. */
  executedMigrations(): Promise<string[]> {
    return this.migrator.executedMigrations();
  }

  async close(): Promise<void> {
    await this.eventIndexer?.stop();
    await this.readPool?.close();
    await this.eventWakeup.close();
    await this.changes.close();
    await this.db.destroy();
  }
}
