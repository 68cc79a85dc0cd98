import type { ChangeEvent } from '../core/change-event.js';
import type { Store } from '../store/database.js';
import { type EventFilter, lastEventId, listEvents } from '../store/events-store.js';
import { heldBackDelay } from './events.js';

/** How many events one read of the log takes. */
const PAGE = 500;

/** What a subscriber is sent: the event, and its JSON (made once for every subscriber). */
export type Deliver = (event: ChangeEvent, json: string) => void;

interface Subscriber {
  readonly filter: EventFilter;
  readonly deliver: Deliver;
  /** The id of the last event sent (or skipped as not matching): nothing at or below it is sent. */
  cursor: number;
  /** While catching up from the log: live events held back until the catch-up has ended. */
  held: ChangeEvent[] | undefined;
}

/** Whether an event passes a filter (the same fields the log's reads filter on). */
export function matches(filter: EventFilter, e: ChangeEvent): boolean {
  return (
    (filter.projectId === undefined || e.project_id === filter.projectId) &&
    (filter.resourceType === undefined || e.resource_type === filter.resourceType) &&
    (filter.resourceId === undefined || e.resource_id === filter.resourceId) &&
    (filter.userId === undefined || e.principal.user_id === filter.userId) &&
    (filter.from === undefined || e.time >= filter.from) &&
    (filter.to === undefined || e.time <= filter.to) &&
    (filter.key === undefined || e.changes.some((c) => c.key === filter.key))
  );
}

/**
 * One follower of the change log per node, fanning each new event out to every subscriber.
 * It reads the log itself (from the store, whatever node wrote it) whenever the store says it
 * may have grown, from the last id it has seen: a read in id order takes only events that are
 * final (ids in commit order, or below the horizon: migration 0013), so reading `id > last`
 * misses nothing and repeats nothing. A subscriber that resumes from an older id first reads
 * what it missed from the log, holding live events back meanwhile, then joins the live feed; its
 * cursor keeps any event from being sent twice. One read per wake-up serves every subscriber, so
 * a thousand cost little more than one.
 */
export class EventFeed {
  private readonly subscribers = new Set<Subscriber>();
  /** The last id read from the log; undefined until the feed has started. */
  private last: number | undefined;
  private starting: Promise<number> | undefined;
  private unsubscribe: (() => void) | undefined;
  private reading = false;
  private again = false;
  /** Reads in a row that found events held back, and the timer of the next. */
  private heldReads = 0;
  private heldTimer: NodeJS.Timeout | undefined;

  constructor(private readonly store: Store) {}

  /**
   * Sends `deliver` every event matching `filter`: those after `since` first (when given), then
   * every new one as it is committed. Returns an unsubscribe.
   */
  async subscribe(filter: EventFilter, since: number | undefined, deliver: Deliver) {
    const head = await this.start();
    const sub: Subscriber = {
      filter,
      deliver,
      cursor: since ?? head,
      held: since === undefined || since >= head ? undefined : [],
    };
    this.subscribers.add(sub);
    const unsubscribe = () => {
      this.subscribers.delete(sub);
      if (this.subscribers.size === 0) this.stop();
    };
    if (sub.held) {
      try {
        await this.catchUp(sub);
      } catch (err) {
        unsubscribe();
        throw err;
      }
    }
    return unsubscribe;
  }

  get size(): number {
    return this.subscribers.size;
  }

  /** Reads what a subscriber missed, then lets the events held back meanwhile through. */
  private async catchUp(sub: Subscriber): Promise<void> {
    for (;;) {
      const { events: page } = await listEvents(
        this.store.db,
        this.store.caps,
        { ...sub.filter, after: sub.cursor },
        'asc',
        PAGE,
      );
      if (!this.subscribers.has(sub)) return;
      for (const e of page) this.send(sub, e, JSON.stringify(e));
      if (page.length < PAGE) break;
    }
    const held = sub.held ?? [];
    sub.held = undefined;
    for (const e of held) if (matches(sub.filter, e)) this.send(sub, e, JSON.stringify(e));
  }

  private send(sub: Subscriber, e: ChangeEvent, json: string): void {
    const id = Number(e.id);
    if (id <= sub.cursor) return;
    sub.cursor = id;
    sub.deliver(e, json);
  }

  private start(): Promise<number> {
    if (this.last !== undefined) return Promise.resolve(this.last);
    this.starting ??= (async () => {
      // Listen first: a commit between reading the head and listening still wakes the feed.
      this.unsubscribe = this.store.onEventsAppended(() => this.wake());
      try {
        const head = await lastEventId(this.store.db, this.store.caps);
        this.last = Math.max(head, this.last ?? 0);
        return this.last;
      } finally {
        this.starting = undefined;
      }
    })();
    return this.starting;
  }

  private stop(): void {
    clearTimeout(this.heldTimer);
    this.heldTimer = undefined;
    this.heldReads = 0;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.last = undefined;
  }

  private wake(): void {
    if (this.last === undefined) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    void this.read()
      .then((heldBack) => this.readAgainIfHeld(heldBack))
      .finally(() => {
        this.reading = false;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /**
   * Events held back at the horizon send no notification of their own when the transaction
   * holding them ends (it may append nothing), so the feed reads again after a short wait.
   */
  private readAgainIfHeld(heldBack: boolean): void {
    if (!heldBack) {
      this.heldReads = 0;
      return;
    }
    if (this.heldTimer !== undefined) return;
    this.heldTimer = setTimeout(
      () => {
        this.heldTimer = undefined;
        this.wake();
      },
      heldBackDelay(this.heldReads++),
    );
    this.heldTimer.unref();
  }

  /** Reads the log after the last id read; whether events were held back at its horizon. */
  private async read(): Promise<boolean> {
    for (;;) {
      const from = this.last;
      if (from === undefined) return false;
      let page: ChangeEvent[];
      let heldThrough: number;
      try {
        ({ events: page, heldThrough } = await listEvents(
          this.store.db,
          this.store.caps,
          { after: from },
          'asc',
          PAGE,
        ));
      } catch {
        // The store is away: the next wake-up (its return wakes the feed) reads from `from`.
        return false;
      }
      for (const e of page) {
        this.last = Number(e.id);
        const json = JSON.stringify(e);
        for (const sub of this.subscribers) {
          if (sub.held) sub.held.push(e);
          else if (matches(sub.filter, e)) this.send(sub, e, json);
        }
      }
      if (page.length < PAGE) return heldThrough > 0;
    }
  }
}
