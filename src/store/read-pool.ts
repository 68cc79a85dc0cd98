import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ReadArgs, ReadName, ReadResult } from './read-procedures.js';
import type { ReadAnswer, ReadJob } from './read-worker.js';
import { markStoreError, QueryTimeoutError } from './store-errors.js';

interface Pending {
  readonly job: ReadJob;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
  timer?: NodeJS.Timeout;
  slot?: Slot;
}

interface Slot {
  worker: Worker;
  /** Its connection is open: it takes reads. */
  ready: boolean;
  busy?: Pending;
}

/**
 * Runs the expensive reads of a SQLite store (read-procedures.ts) on worker threads, each with
 * its own read-only connection: a long query occupies one of them, never the thread that answers
 * every other request, and reads use the machine's other cores. A read that has not finished
 * within `timeoutMs` of a thread taking it is stopped (its thread terminated and replaced) and
 * rejected with a `QueryTimeoutError`. (A read waiting for a free thread is not yet counted.)
 */
export class ReadPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly size: number,
    /** Absent: no limit. */
    private readonly timeoutMs?: number,
  ) {}

  run<N extends ReadName>(name: N, args: ReadArgs<N>): Promise<ReadResult<N>> {
    if (this.closed) return Promise.reject(new Error('the store is closed'));
    return new Promise((resolve, reject) => {
      const job: ReadJob = { id: this.nextId++, name, args };
      const pending: Pending = { job, resolve: resolve as (value: unknown) => void, reject };
      this.queue.push(pending);
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) this.settle(p, new Error('the store is closed'));
    await Promise.all(
      this.slots.splice(0).map((slot) => {
        if (slot.busy) this.settle(slot.busy, new Error('the store is closed'));
        return slot.worker.terminate();
      }),
    );
  }

  /** Hands queued reads to ready threads, starting threads up to the pool's size. */
  private dispatch(): void {
    while (this.queue.length > this.slots.filter((s) => !s.ready).length) {
      if (this.slots.length >= this.size) break;
      this.spawn();
    }
    while (this.queue.length > 0) {
      const slot = this.slots.find((s) => s.ready && !s.busy);
      if (!slot) return;
      const pending = this.queue.shift()!;
      slot.busy = pending;
      pending.slot = slot;
      // The time limit counts the read itself, from the moment a thread takes it.
      if (this.timeoutMs !== undefined) {
        pending.timer = setTimeout(() => this.expire(pending), this.timeoutMs);
      }
      slot.worker.postMessage(pending.job);
    }
  }

  private spawn(): Slot {
    const slot: Slot = { worker: startWorker(this.path), ready: false };
    this.slots.push(slot);
    slot.worker.on('message', (answer: ReadAnswer | 'ready') => {
      if (answer === 'ready') {
        slot.ready = true;
        this.dispatch();
        return;
      }
      const pending = slot.busy;
      if (!pending || pending.job.id !== answer.id) return;
      slot.busy = undefined;
      if (answer.ok) this.settle(pending, undefined, answer.result);
      else this.settle(pending, storeErrorOf(answer.error));
      this.dispatch();
    });
    slot.worker.on('error', (err) => {
      if (!slot.ready) {
        // The thread could not start (the database cannot be opened): the reads waiting fail as
        // the store's; the next read tries a new thread.
        this.slots.splice(this.slots.indexOf(slot), 1);
        for (const p of this.queue.splice(0)) this.settle(p, markStoreError(err));
        return;
      }
      // The thread died (it ran out of memory): its read fails as the store's, and a new thread
      // takes its place.
      this.replace(slot, markStoreError(err));
    });
    slot.worker.on('exit', () => {
      if (this.slots.includes(slot)) this.replace(slot, new Error('a read thread exited'));
    });
    // An idle read thread does not keep the process alive.
    slot.worker.unref();
    return slot;
  }

  /** A read past its time: stop its thread. */
  private expire(pending: Pending): void {
    if (pending.slot && pending.slot.busy === pending) {
      this.replace(pending.slot, new QueryTimeoutError(this.timeoutMs ?? 0));
    }
  }

  /** Ends a slot's thread (failing its read with `err`) and lets the queue use a fresh one. */
  private replace(slot: Slot, err: unknown): void {
    const i = this.slots.indexOf(slot);
    if (i === -1) return;
    this.slots.splice(i, 1);
    const busy = slot.busy;
    slot.busy = undefined;
    if (busy) this.settle(busy, err);
    // A thread inside a long SQLite statement stops when the statement returns.
    void slot.worker.terminate();
    if (this.closed) return;
    // Its replacement starts at once, so the next read does not wait for a thread to start.
    this.spawn();
    this.dispatch();
  }

  private settle(pending: Pending, err: unknown, result?: unknown): void {
    clearTimeout(pending.timer);
    if (err === undefined) pending.resolve(result);
    else pending.reject(err);
  }
}

/** The error a read thread reported, as the store's (its code kept for `storeFault`). */
function storeErrorOf(e: { message: string; code?: string; name: string }): Error {
  const err = Object.assign(new Error(e.message), e.code !== undefined ? { code: e.code } : {});
  err.name = e.name;
  return markStoreError(err);
}

/**
 * A read thread. Built, the worker is read-worker.js beside this file; run from the TypeScript
 * source (the tests, tsx), it is read-worker.ts, compiled by tsx in the thread.
 */
function startWorker(path: string): Worker {
  const here = import.meta.url;
  const options = { workerData: { path } };
  if (!here.endsWith('.ts')) return new Worker(new URL('./read-worker.js', here), options);
  const require = createRequire(here);
  const tsx = join(dirname(require.resolve('tsx/package.json')), 'dist/esm/api/index.mjs');
  const entry = new URL('./read-worker.ts', here).href;
  const boot = `import(${JSON.stringify(pathToFileURL(tsx).href)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { ...options, eval: true });
}
