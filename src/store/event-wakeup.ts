import type BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import type { Executor } from './executor.js';
import type { EventRow } from './gathered-events.js';
import { pgTypes } from './postgres-pool.js';

/**
 * Notified after each commit that appends events: by the process that made it, outside its
 * transaction (before migration 0013, by a trigger in it).
 */
export const EVENTS_CHANNEL = 'tagplane_events';

const appended = new WeakSet<object>();

/** Records that the transaction on this connection appends events. */
export function markEventsAppended(ex: Executor): void {
  appended.add(ex);
}

/** Whether the transaction on this connection has appended events already. */
export function eventsAppended(ex: Executor): boolean {
  return appended.has(ex);
}

/**
 * Called whenever the log may have grown. `events`, when given, are the events a commit of this
 * process has just appended, all of them, in id order: a follower whose last id is just below
 * the first may take them without reading the log. Without them, the follower reads the log.
 */
export type EventsListener = (events?: readonly EventRow[]) => void;

/**
 * Tells the followers of the change log that it may have grown: at once after a commit of this
 * process that appended events, and for other processes' commits as soon as they are seen. It
 * only wakes: followers read the log itself from the last id they have, so a wake-up too many
 * costs a query and one missed (a lost connection) is made up by the next. Nothing runs while
 * nobody follows.
 */
export abstract class EventWakeup {
  private readonly listeners = new Set<EventsListener>();
  protected closed = false;

  /** Whether anyone listens. */
  get listening(): boolean {
    return this.listeners.size > 0;
  }

  /** Calls `listener` whenever the log may have grown. Returns an unsubscribe. */
  on(listener: EventsListener): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1 && !this.closed) this.start();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  /**
   * Wakes the followers if the transaction just committed on `conn` appended events (`events`:
   * all of them, where known); says so.
   */
  afterCommit(conn: Executor, events?: readonly EventRow[]): boolean {
    if (!appended.delete(conn)) return false;
    this.wake(events);
    this.tellOthers();
    return true;
  }

  /** Tells other processes that this one's commit appended events (where they need telling). */
  protected tellOthers(): void {}

  protected wake(events?: readonly EventRow[]): void {
    for (const listener of this.listeners) listener(events);
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
 * How often a PostgreSQL follower reads the log with no notification: a process that stopped
 * between its commit and its notification never sent it.
 */
const POSTGRES_POLL_MS = 1_000;

/**
 * The shortest time between two notifications from this process: under a steady stream of
 * commits, about 50 a second in all, each telling the other nodes of every commit before it;
 * after a quiet spell the first commit is told at once.
 */
const NOTIFY_GAP_MS = 20;

/**
 * PostgreSQL: one connection listens on `tagplane_events` while someone follows the log,
 * reconnecting when it drops; each (re)connection wakes the followers, who then read whatever
 * they missed, as they also do every second.
 *
 * A commit that appended events is told to every node by one `NOTIFY` from this process, on a
 * connection of its own, after the commit. Not from inside the writing transaction: PostgreSQL
 * queues notifications in commit order under one lock, taken before the commit and held until it
 * is durable, so every transaction that notified would wait for the previous one's commit and
 * its flush to disk. One notification is on its way at a time, and the next leaves at least
 * `NOTIFY_GAP_MS` after it: the commits made meanwhile are told by that next one. A notification
 * is a round trip and a transaction of its own on the server; sent after every commit it costs a
 * busy node about as much as the write itself, and a follower needs only one to read everything
 * committed before it.
 */
export class PostgresEventWakeup extends EventWakeup {
  private client: pg.Client | undefined;
  private poll: NodeJS.Timeout | undefined;
  private notifier: pg.Client | undefined;
  private notifying = false;
  /** A commit was made after the last notification left: another is due. */
  private notifyAgain = false;
  /** When (`performance.now()`) the last notification left. */
  private notifiedAt = Number.NEGATIVE_INFINITY;
  /** The wait for the end of `NOTIFY_GAP_MS` before the next notification. */
  private gap: NodeJS.Timeout | undefined;

  constructor(private readonly url: string) {
    super();
  }

  protected override tellOthers(): void {
    if (this.closed) return;
    if (this.notifying || this.gap) {
      this.notifyAgain = true;
      return;
    }
    const wait = this.notifiedAt + NOTIFY_GAP_MS - performance.now();
    if (wait > 0) {
      this.notifyAgain = true;
      this.gap = setTimeout(() => {
        this.gap = undefined;
        this.tellOthers();
      }, wait);
      return;
    }
    // This notification tells of every commit made before it leaves.
    this.notifyAgain = false;
    this.notifying = true;
    this.notifiedAt = performance.now();
    void this.notify().finally(() => {
      this.notifying = false;
      if (this.notifyAgain) this.tellOthers();
    });
  }

  private async notify(): Promise<void> {
    try {
      if (!this.notifier) {
        const client = new pg.Client({ connectionString: this.url, types: pgTypes });
        client.on('error', () => {
          if (this.notifier === client) this.notifier = undefined;
          client.end().catch(() => {});
        });
        await client.connect();
        if (this.closed) {
          await client.end();
          return;
        }
        this.notifier = client;
      }
      await this.notifier.query(`notify ${EVENTS_CHANNEL}`);
    } catch {
      // The other nodes read the log on their next poll; the next commit connects again.
      const client = this.notifier;
      this.notifier = undefined;
      client?.end().catch(() => {});
    }
  }

  protected start(): void {
    if (this.poll === undefined && !this.closed) {
      this.poll = setInterval(() => this.wake(), POSTGRES_POLL_MS);
      this.poll.unref();
    }
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
    clearInterval(this.poll);
    this.poll = undefined;
    const client = this.client;
    this.client = undefined;
    client?.end().catch(() => {});
  }

  override async close(): Promise<void> {
    await super.close();
    clearTimeout(this.gap);
    this.gap = undefined;
    const notifier = this.notifier;
    this.notifier = undefined;
    await notifier?.end().catch(() => {});
  }
}
