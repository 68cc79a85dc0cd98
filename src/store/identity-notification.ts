import type BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import type { Executor } from './executor.js';
import { FAULT_CHANNEL, FAULT_VERSION_SETTING, takeFaultsChanged } from './fault-version.js';
import {
  IDENTITY_CHANNEL,
  IDENTITY_VERSION_SETTING,
  takeIdentityChanged,
} from './identity-version.js';
import { LOCKOUT_CHANNEL, LOCKOUT_VERSION_SETTING, takeLockoutChanged } from './lockout-version.js';
import { pgTypes } from './postgres-pool.js';

/**
 * Tells this process's caches when identity data (see identity-version.ts) or lockout state (see
 * lockout-version.ts) may have changed: at once after a commit of this process that changed it,
 * and for other processes' commits as soon as they are seen. How other processes' commits are
 * seen is what differs between the databases (the two classes below); the store opens one.
 */
export abstract class IdentityNotification {
  private readonly identityListeners = new Set<() => void>();
  private readonly lockoutListeners = new Set<() => void>();
  private readonly faultListeners = new Set<() => void>();

  /** Calls `listener` whenever identity data may have changed. Returns an unsubscribe. */
  onIdentityChange(listener: () => void): () => void {
    this.identityListeners.add(listener);
    this.subscribed();
    return () => this.identityListeners.delete(listener);
  }

  /** As `onIdentityChange`, for lockout state, on a channel of its own. */
  onLockoutChange(listener: () => void): () => void {
    this.lockoutListeners.add(listener);
    this.subscribed();
    return () => this.lockoutListeners.delete(listener);
  }

  /** As `onIdentityChange`, for the set of injected faults, on a channel of its own. */
  onFaultChange(listener: () => void): () => void {
    this.faultListeners.add(listener);
    this.subscribed();
    return () => this.faultListeners.delete(listener);
  }

  /** Whether other processes' changes are being seen right now. */
  abstract tracked(): boolean;

  /** Looks for other processes' changes where that needs a look rather than a message. */
  abstract poll(): void;

  abstract close(): Promise<void>;

  /** Marks from a transaction's identity and lockout writes are acted on once it has committed. */
  afterCommit(conn: Executor): void {
    if (takeIdentityChanged(conn)) this.identityChanged();
    if (takeLockoutChanged(conn)) this.lockoutChanged();
    if (takeFaultsChanged(conn)) this.faultsChanged();
  }

  /** A listener was added. */
  protected subscribed(): void {}

  protected hasListeners(): boolean {
    return this.identityListeners.size + this.lockoutListeners.size + this.faultListeners.size > 0;
  }

  protected identityChanged(): void {
    for (const listener of this.identityListeners) listener();
  }

  protected lockoutChanged(): void {
    for (const listener of this.lockoutListeners) listener();
  }

  protected faultsChanged(): void {
    for (const listener of this.faultListeners) listener();
  }
}

/** How often, at most, a SQLite store looks for other processes' identity changes. */
const IDENTITY_POLL_MS = 10;

/**
 * SQLite: notices other processes' commits (`PRAGMA data_version` changes only for those) and,
 * when one changed the identity (or lockout) version, tells those listeners. Reading it takes a
 * read lock, which costs a system call, so it is read at most every 10 ms: another process's
 * identity change is seen within 10 ms. Every process on the file is always seen.
 */
export class SqlitePolling extends IdentityNotification {
  /** The last `data_version`, identity version and lockout version seen. */
  private seen:
    | {
        dataVersion: number;
        identityVersion: unknown;
        lockoutVersion: unknown;
        faultVersion: unknown;
      }
    | undefined;
  /** Prepared once; `pragma()` would prepare it again on every call. */
  private dataVersionStatement: BetterSqlite3.Statement | undefined;
  private lastPoll = 0;

  /** `raw`: the SQLite connection itself, for the calls Kysely has no words for. */
  constructor(private readonly raw: BetterSqlite3.Database) {
    super();
  }

  tracked(): boolean {
    return true;
  }

  poll(): void {
    // Called several times per request: the clock first, before asking the driver anything.
    const now = performance.now();
    if (now - this.lastPoll < IDENTITY_POLL_MS) return;
    const raw = this.raw;
    if (!raw.open) return;
    this.lastPoll = now;
    this.dataVersionStatement ??= raw.prepare('pragma data_version').pluck();
    const dataVersion = this.dataVersionStatement.get() as number;
    if (this.seen?.dataVersion === dataVersion) return;
    const rows = raw
      .prepare('select name, value from settings where name in (?, ?, ?)')
      .all(IDENTITY_VERSION_SETTING, LOCKOUT_VERSION_SETTING, FAULT_VERSION_SETTING) as {
      name: string;
      value: string;
    }[];
    const version = (name: string) => rows.find((r) => r.name === name)?.value;
    const identityVersion = version(IDENTITY_VERSION_SETTING);
    const lockoutVersion = version(LOCKOUT_VERSION_SETTING);
    const faultVersion = version(FAULT_VERSION_SETTING);
    const before = this.seen;
    this.seen = { dataVersion, identityVersion, lockoutVersion, faultVersion };
    if (before === undefined) return;
    if (before.identityVersion !== identityVersion) this.identityChanged();
    if (before.lockoutVersion !== lockoutVersion) this.lockoutChanged();
    if (before.faultVersion !== faultVersion) this.faultsChanged();
  }

  async close(): Promise<void> {}
}

/**
 * PostgreSQL: one connection listens for the notifications the identity, lockout and fault
 * triggers send (migrations 0005, 0007, 0010), from the first listener on, reconnecting when it drops. Nothing needs
 * polling; while the connection is down, changes go unseen (`tracked()` is false).
 */
export class PostgresListening extends IdentityNotification {
  /** The connection listening for changes, while it listens. */
  private listener: pg.Client | undefined;
  private listening = false;
  private closed = false;

  constructor(private readonly url: string) {
    super();
  }

  tracked(): boolean {
    return this.listening;
  }

  poll(): void {}

  protected override subscribed(): void {
    if (!this.listener && !this.closed) this.listen();
  }

  private listen(): void {
    const client = new pg.Client({ connectionString: this.url, types: pgTypes });
    this.listener = client;
    const lost = () => {
      if (this.listener !== client) return;
      this.listener = undefined;
      this.listening = false;
      // Changes may be missed while deaf: drop what is cached, and keep trying to listen again.
      this.identityChanged();
      this.lockoutChanged();
      this.faultsChanged();
      client.end().catch(() => {});
      if (!this.closed && this.hasListeners()) {
        setTimeout(() => {
          if (!this.closed && !this.listener) this.listen();
        }, 1_000).unref();
      }
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (msg) => {
      if (msg.channel === LOCKOUT_CHANNEL) this.lockoutChanged();
      else if (msg.channel === FAULT_CHANNEL) this.faultsChanged();
      else this.identityChanged();
    });
    client
      .connect()
      .then(() =>
        client.query(
          `listen ${IDENTITY_CHANNEL}; listen ${LOCKOUT_CHANNEL}; listen ${FAULT_CHANNEL}`,
        ),
      )
      .then(() => {
        if (this.listener !== client) return;
        this.listening = true;
        // Anything cached before listening began may already be stale.
        this.identityChanged();
        this.lockoutChanged();
        this.faultsChanged();
      })
      .catch(lost);
  }

  async close(): Promise<void> {
    this.closed = true;
    const listener = this.listener;
    this.listener = undefined;
    this.listening = false;
    await listener?.end().catch(() => {});
  }
}
