import type BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import type { Executor } from './executor.js';
import { pgTypes } from './postgres-pool.js';

/** Notified by the change log's trigger at each commit that appends events (migration 0009). */
export const EVENTS_CHANNEL = 'tagplane_events';

const appended = new WeakSet<object>();

/** Records that the transaction on this connection appends events. */
export function markEventsAppended(ex: Executor): void {
  appended.add(ex);
}

/**
 * Tells the followers of the change log that it may have grown: at once after a commit of this
 * process that appended events, and for other processes' commits as soon as they are seen. It
 * only wakes: followers read the log itself from the last id they have, so a wake-up too many
 * costs a query and one missed (a lost connection) is made up by the next. Nothing runs while
 * nobody follows.
 */
export abstract class EventWakeup {
  private readonly listeners = new Set<() => void>();
  protected closed = false;

  /** Calls `listener` whenever the log may have grown. Returns an unsubscribe. */
  on(listener: () => void): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1 && !this.closed) this.start();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  /** Wakes the followers if the transaction just committed on `conn` appended events; says so. */
  afterCommit(conn: Executor): boolean {
    if (!appended.delete(conn)) return false;
    this.wake();
    return true;
  }

  protected wake(): void {
    for (const listener of this.listeners) listener();
  }

  protected abstract start(): void;
  protected abstract stop(): void;

  async close(): Promise<void> {
    this.closed = true;
    this.stop();
  }
}

/** How often a SQLite store looks for other processes' commits while the log is followed. */
const SQLITE_POLL_MS = 20;

/**
 * SQLite: `PRAGMA data_version` changes when another process commits; it is read every 20 ms
 * while someone follows the log (a system call, no read of the database).
 */
export class SqliteEventWakeup extends EventWakeup {
  private timer: NodeJS.Timeout | undefined;
  private statement: BetterSqlite3.Statement | undefined;
  private seen: unknown;

  constructor(private readonly raw: BetterSqlite3.Database) {
    super();
  }

  protected start(): void {
    this.statement ??= this.raw.prepare('pragma data_version').pluck();
    this.seen = this.statement.get();
    this.timer = setInterval(() => {
      if (!this.raw.open) return;
      const version = this.statement?.get();
      if (version === this.seen) return;
      this.seen = version;
      this.wake();
    }, SQLITE_POLL_MS);
    this.timer.unref();
  }

  protected stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/**
 * PostgreSQL: one connection listens on `tagplane_events` while someone follows the log,
 * reconnecting when it drops; each (re)connection wakes the followers, who then read whatever
 * they missed.
 */
export class PostgresEventWakeup extends EventWakeup {
  private client: pg.Client | undefined;

  constructor(private readonly url: string) {
    super();
  }

  protected start(): void {
    if (this.client || this.closed) return;
    const client = new pg.Client({ connectionString: this.url, types: pgTypes });
    this.client = client;
    const lost = () => {
      if (this.client !== client) return;
      this.client = undefined;
      client.end().catch(() => {});
      if (!this.closed) {
        setTimeout(() => {
          if (!this.closed && !this.client) this.start();
        }, 1_000).unref();
      }
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', () => this.wake());
    client
      .connect()
      .then(() => client.query(`listen ${EVENTS_CHANNEL}`))
      .then(() => {
        if (this.client === client) this.wake();
      })
      .catch(lost);
  }

  protected stop(): void {
    const client = this.client;
    this.client = undefined;
    client?.end().catch(() => {});
  }
}
