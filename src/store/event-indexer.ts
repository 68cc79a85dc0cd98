/** Events added to the index per transaction. */
const BATCH = 5_000;
/**
 * How long a catch-up runs before it tells its progress, and how often after: under a steady
 * load each run takes a few batches in well under a second, and says nothing.
 */
const PROGRESS_MS = 5_000;

/** Where a catch-up that takes more than one batch has got to. */
export interface IndexProgress {
  /** Events indexed by this catch-up so far. */
  readonly indexed: number;
  /** About how many are left (the log's ids past the mark); 0 once it is done. */
  readonly remaining: number;
}
/**
 * How long after a commit that appended events the indexer runs: the longer, the more events a
 * batch takes and the fewer times each index page is written per event; the shorter, the shorter
 * the tail that reads by resource scan.
 */
const DELAY_MS = 1_000;

/**
 * Keeps the change log's per-resource index (deferred-event-index.ts) caught up in the
 * background where it is not kept by each write: `DELAY_MS` after a commit that appended events,
 * it indexes every event not yet indexed, `BATCH` events per write transaction (each one of the
 * store's group commits, so writers wait for one batch at most). `batch(limit)` runs one such
 * transaction and answers how many events it indexed.
 */
export class EventIndexer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  /** Events were appended while a run was under way: run again after it. */
  private again = false;
  private background: ((err: unknown) => void) | undefined;
  private progress: ((p: IndexProgress) => void) | undefined;
  private progressMs = PROGRESS_MS;

  /**
   * `batch(limit)` indexes up to `limit` events and answers how many; `backlog()` answers about
   * how many are not indexed yet.
   */
  constructor(
    private readonly batch: (limit: number) => Promise<number>,
    private readonly backlog: () => Promise<number>,
  ) {}

  /**
   * Indexes every event not yet indexed, after a run under way has ended; answers how many it
   * indexed. `progress` hears of a catch-up that lasts `everyMs` or longer: then every
   * `everyMs`, and at the end.
   */
  catchUp(progress?: (p: IndexProgress) => void, everyMs = PROGRESS_MS): Promise<number> {
    const previous = this.running?.catch(() => 0) ?? Promise.resolve(0);
    const run = previous.then(async () => {
      let total = 0;
      let told = Date.now();
      let telling = false;
      for (;;) {
        const n = await this.batch(BATCH);
        total += n;
        if (n < BATCH) {
          if (telling) progress?.({ indexed: total, remaining: 0 });
          return total;
        }
        if (progress && Date.now() - told >= everyMs) {
          told = Date.now();
          telling = true;
          progress({ indexed: total, remaining: await this.backlog() });
        }
      }
    });
    this.running = run;
    const done = () => {
      if (this.running === run) this.running = undefined;
    };
    run.then(done, done);
    return run;
  }

  /**
   * Catches up now, then after commits that append events; errors go to `onError`, and the
   * progress of a long catch-up (after an upgrade that adds an index) to `onProgress`, every
   * `progressMs`.
   */
  start(
    onError: (err: unknown) => void,
    onProgress?: (p: IndexProgress) => void,
    progressMs = PROGRESS_MS,
  ): void {
    if (this.background) return;
    this.background = onError;
    this.progress = onProgress;
    this.progressMs = progressMs;
    this.run();
  }

  /** Told after each commit of this process that appended events. */
  appended(): void {
    if (!this.background) return;
    if (this.running) this.again = true;
    else this.timer ??= setTimeout(() => this.run(), DELAY_MS).unref();
  }

  private run(): void {
    this.timer = undefined;
    const onError = this.background;
    if (!onError) return;
    this.again = false;
    this.catchUp(this.progress, this.progressMs)
      .catch(onError)
      .finally(() => {
        if (this.again) this.appended();
      });
  }

  /** Stops running in the background; resolves once a run under way has ended. */
  async stop(): Promise<void> {
    this.background = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => {});
  }
}
