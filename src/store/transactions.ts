import { sql } from 'kysely';
import type { Executor } from './executor.js';
import {
  type EventRow,
  endGathering,
  insertedEvents,
  insertGatheredEvents,
  startGatheredWrite,
  startGathering,
  undoGatheredWrite,
} from './gathered-events.js';
import type { StoreCapabilities } from './store-capabilities.js';
import { retryDelay } from './store-errors.js';

interface QueuedWrite {
  readonly fn: (tx: Executor) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Runs the store's transactions: write transactions (retried where concurrent writers collide,
 * or gathered into group commits where the database has one writer) and read-only ones.
 * `afterCommit` is told every connection whose transaction has just committed, with the events
 * it appended where they are known in full (a group commit's, see gathered-events.ts).
 */
export class Transactions {
  /** Writes waiting for the next shared transaction (group commit). */
  private queued: QueuedWrite[] = [];
  private flushScheduled = false;

  constructor(
    private readonly db: Executor,
    private readonly caps: StoreCapabilities,
    private readonly afterCommit: (conn: Executor, events?: readonly EventRow[]) => void,
    /** Whether anyone follows the log now: only then do group commits keep what they insert. */
    private readonly eventsFollowed: () => boolean,
  ) {}

  /** See `Store.transaction`. */
  async write<T>(fn: (tx: Executor) => Promise<T>, options: { once?: boolean } = {}): Promise<T> {
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

  /** Runs `fn` in one read-only transaction: every query it makes sees the same snapshot. */
  read<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    return this.inTransaction(this.caps.beginRead, fn);
  }

  private enqueueWrite<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queued.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      this.scheduleFlush();
    });
  }

  /**
   * The next shared transaction starts once the event loop has taken in the requests that have
   * arrived, so the writes of concurrent requests go to disk together. It waits one turn of the
   * loop more than that: a request read in this turn often reaches its write only in the next
   * (after its checks' callbacks), and each commit costs the same pages and sync however many
   * writes share it. Under 32 concurrent writers this took commits from about 17 writes to about
   * 26, and writes/s up by 6–10% (docs/benchmarks.md); alone, a write waits for one more turn of
   * an otherwise idle loop.
   */
  private scheduleFlush(): void {
    if (this.flushScheduled || this.queued.length === 0) return;
    this.flushScheduled = true;
    setImmediate(() =>
      setImmediate(() => {
        // flushWrites never rejects: each write's failure goes to its own caller.
        void this.flushWrites().finally(() => {
          this.flushScheduled = false;
          this.scheduleFlush();
        });
      }),
    );
  }

  private async flushWrites(): Promise<void> {
    const batch = this.queued;
    this.queued = [];
    let outcomes: Outcome[];
    try {
      outcomes = await this.db.connection().execute(async (conn) => {
        await sql.raw(this.caps.beginWrite).execute(conn);
        // The events the writes append are inserted together before the commit.
        startGathering(conn, this.eventsFollowed());
        try {
          const done: Outcome[] = [];
          for (const job of batch) {
            await sql.raw('savepoint tagplane_write').execute(conn);
            startGatheredWrite(conn);
            try {
              done.push({ ok: true, value: await job.fn(conn) });
            } catch (error) {
              // Undo this write only; a failure to do so fails the whole transaction below.
              await sql.raw('rollback to tagplane_write').execute(conn);
              undoGatheredWrite(conn);
              done.push({ ok: false, error });
            }
            await sql.raw('release tagplane_write').execute(conn);
          }
          await insertGatheredEvents(conn, true);
          await sql.raw('commit').execute(conn);
          this.afterCommit(conn, insertedEvents(conn));
          return done;
        } catch (err) {
          await sql
            .raw('rollback')
            .execute(conn)
            .catch(() => {});
          throw err;
        } finally {
          endGathering(conn);
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
}
