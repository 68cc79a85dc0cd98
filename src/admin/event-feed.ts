import type { ChangeEvent } from '../core/change-event.js';
import type { Store } from '../store/database.js';
import {
  type EventFilter,
  type EventRow,
  eventJson,
  lastEventId,
  listEvents,
  toChangeEvent,
} from '../store/events-store.js';
import { compileMatch, type EventMatch, matchKey } from './event-match.js';
import { heldBackDelay } from './events.js';

/** How many events one read of the log takes. */
const PAGE = 500;
/**
 * How many live events (of those its filter passes) a subscriber still catching up holds back
 * at most; beyond, it forgets them and reads them from the log instead, so a catch-up that
 * waits on a slow client does not hold the log's growth in memory.
 */
const MAX_HELD = 2 * PAGE;
/**
 * How many events this node's commits may hand the feed between two of its reads (see
 * `handed`); beyond, the next read takes them from the log. The feed rests up to `MAX_PAUSE_MS`
 * between reads, usually 20–100 ms: at 10,000 writes a second, up to 1,000 events.
 */
const MAX_HANDED = 4 * PAGE;
/**
 * The share of the event loop the fan-out may take: after a fan-out that took `t` ms, the next
 * read waits `t × (1 − share) / share` ms, so that writes to many subscribers cannot crowd out
 * the requests this node serves: this counts the encoding and the matching, which grow with the
 * events of a read; the sockets' writes are counted apart (below). Each wait gathers the events
 * of that time into one chunk per subscriber.
 */
const FAN_OUT_SHARE = 0.03;
/**
 * The shortest wait after a fan-out that wrote to sockets: `SOCKET_WRITE_MS` for each chunk it
 * wrote, and `MIN_GAP_MS` at least. Each write to a socket is a system call whatever its size
 * (over loopback it does the receiving side's work too), made after the fan-out has returned, so
 * the fan-out's measured time leaves it out. Under a steady stream of writes this keeps the feed
 * to about 200 socket writes a second in all, each subscriber getting its events in a chunk
 * every 20 ms with up to four subscribers receiving, every 50 ms with ten, every `MAX_PAUSE_MS`
 * with 200 or more, rather than one per commit. The first event after a quiet spell goes out at
 * once.
 */
const MIN_GAP_MS = 20;
const SOCKET_WRITE_MS = 5;
/** The longest wait between two reads, whatever the fan-out cost. */
const MAX_PAUSE_MS = 1_000;

/**
 * How an event is put on the wire, from its id and its JSON text (`JSON.stringify` of the
 * event): made once per event, whatever the number of subscribers.
 */
export type Encode = (id: string, json: string) => string;

/** Where a subscriber's events go. */
export interface FeedSink {
  /** Takes the encoded events of one read that pass the subscriber's filter, in id order. */
  send(chunk: Buffer): void;
  /**
   * Settles once what was sent has been taken (or the subscriber has gone): catching up from
   * the log waits for it before the next page; the live feed waits for nobody.
   */
  taken(): Promise<void>;
}

/**
 * An event and its wire text. An event handed over by a commit as its row is made into an
 * object only if a filter needs more of it than its project.
 */
class Frame {
  readonly id: number;
  private parsed: ChangeEvent | undefined;

  constructor(
    readonly text: string,
    private readonly source: ChangeEvent | EventRow,
  ) {
    this.id = Number(source.id);
    if (typeof source.id === 'string') this.parsed = source as ChangeEvent;
  }

  get event(): ChangeEvent {
    this.parsed ??= toChangeEvent(this.source as EventRow);
    return this.parsed;
  }
}

/** Subscribers with the same filter: one match per event and one chunk per read for all. */
interface Group {
  readonly key: string;
  readonly filter: EventFilter;
  /**
   * Its filter's test beyond the project, which the fan-out has already sorted the events by;
   * undefined when it passes every event of its project.
   */
  readonly match: EventMatch | undefined;
  readonly subscribers: Set<Subscriber>;
}

interface Subscriber {
  readonly group: Group;
  readonly sink: FeedSink;
  /**
   * No event at or below this id is sent (again): those its filter passes have been sent, or
   * came before what it asked for. Only the reads that visit its group move it: a read that does
   * not holds nothing its filter passes, and every later read is above it anyway.
   */
  cursor: number;
  /**
   * While catching up from the log: the live events of that time its filter passes, sent once
   * it has ended.
   */
  held: Frame[] | undefined;
  /** More live events came while catching up than are held: read them from the log instead. */
  overflowed: boolean;
}

/** The key of a filter that passes every event. */
const NO_FILTER = matchKey({});

/**
 * The frames' texts as one buffer, each written into it in turn: joining them into one string
 * first (a rope of every piece of every frame, flattened, then encoded) cost twice as much per
 * event for a chunk of a few hundred frames.
 */
function chunkOf(frames: readonly Frame[]): Buffer {
  if (frames.length === 1) return Buffer.from(frames[0]!.text);
  let bytes = 0;
  for (const f of frames) bytes += Buffer.byteLength(f.text);
  const chunk = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (const f of frames) at += chunk.write(f.text, at);
  // Every byte was written (the texts are JSON, well-formed UTF-16); never send one that was not.
  return at === bytes ? chunk : chunk.subarray(0, at);
}

/**
 * One follower of the change log per node, fanning each new event out to every subscriber.
 * It reads the log itself (from the store, whatever node wrote it) whenever the store says it
 * may have grown, from the last id it has seen: a read in id order takes only events that are
 * final (ids in commit order, or below the horizon: migration 0013), so reading `id > last`
 * misses nothing and repeats nothing. Where this node's own commits hand it their events and
 * those follow on from the last id with none missing (SQLite, whose one writer at a time gives
 * ids in commit order), it takes them instead of reading them back. A subscriber that resumes
 * from an older id first reads what it missed from the log, holding live events back meanwhile,
 * then joins the live feed; its cursor keeps any event from being sent twice.
 *
 * One read per wake-up serves every subscriber, and its cost grows with the events and the
 * filters that can pass them, not with the number of filters or subscribers: the filters that
 * name a project are indexed by it, so an event is tested only by those of its own project and
 * by those that name none; each event anyone may want is encoded once; and the events of one
 * read that a filter passes become one chunk, written to each of its subscribers in one write.
 * A thousand subscribers each following a project of its own cost an event one filter's test,
 * not a thousand.
 */
export class EventFeed {
  private readonly groups = new Map<string, Group>();
  /** The groups whose filter names a project, by that project. */
  private readonly byProject = new Map<string, Set<Group>>();
  /** The groups whose filter names no project: every event is theirs to test. */
  private readonly anyProject = new Set<Group>();
  private count = 0;
  /** The last id read from the log; undefined until the feed has started. */
  private last: number | undefined;
  private starting: Promise<number> | undefined;
  private unsubscribe: (() => void) | undefined;
  private reading = false;
  private again = false;
  /** No read before this moment (`performance.now()`), to keep the fan-out to its share. */
  private restUntil = 0;
  private resting: NodeJS.Timeout | undefined;
  /** Reads in a row that found events held back and nothing new, and the timer of the next. */
  private heldReads = 0;
  private heldTimer: NodeJS.Timeout | undefined;
  /**
   * The events this node's commits have handed the feed since its last read (SQLite's group
   * commits, which know every event they append and its id), when they follow on from `last`
   * with no id missing between: the next read takes them instead of reading the log. Undefined
   * when it must read the log: another process may have committed (a wake-up without events), a
   * commit's events did not follow on, or there were more than `MAX_HANDED`. Those handed over
   * while a read of the log is under way follow on from each other; once it has ended, those it
   * found are dropped and the rest must follow on from its last.
   */
  private handed: EventRow[] | undefined = [];

  constructor(
    private readonly store: Store,
    private readonly encode: Encode,
  ) {}

  /**
   * Sends `sink` every event matching `filter`: those after `since` first (when given), then
   * every new one as it is committed. Returns an unsubscribe.
   */
  async subscribe(filter: EventFilter, since: number | undefined, sink: FeedSink) {
    const head = await this.start();
    const key = matchKey(filter);
    let group = this.groups.get(key);
    if (!group) {
      const beyondProject = { ...filter, projectId: undefined };
      group = {
        key,
        filter,
        match: matchKey(beyondProject) === NO_FILTER ? undefined : compileMatch(beyondProject),
        subscribers: new Set(),
      };
      this.addGroup(group);
    }
    const sub: Subscriber = {
      group,
      sink,
      cursor: since ?? head,
      held: since === undefined || since >= head ? undefined : [],
      overflowed: false,
    };
    group.subscribers.add(sub);
    this.count++;
    const unsubscribe = () => {
      if (!sub.group.subscribers.delete(sub)) return;
      this.count--;
      if (sub.group.subscribers.size === 0 && this.groups.get(key) === sub.group) {
        this.removeGroup(sub.group);
      }
      if (this.count === 0) this.stop();
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
    return this.count;
  }

  private addGroup(group: Group): void {
    this.groups.set(group.key, group);
    const { projectId } = group.filter;
    if (projectId === undefined) {
      this.anyProject.add(group);
      return;
    }
    let groups = this.byProject.get(projectId);
    if (!groups) {
      groups = new Set();
      this.byProject.set(projectId, groups);
    }
    groups.add(group);
  }

  private removeGroup(group: Group): void {
    this.groups.delete(group.key);
    const { projectId } = group.filter;
    if (projectId === undefined) {
      this.anyProject.delete(group);
      return;
    }
    const groups = this.byProject.get(projectId);
    groups?.delete(group);
    if (groups?.size === 0) this.byProject.delete(projectId);
  }

  private frame(e: ChangeEvent | EventRow): Frame {
    // An event read from the log is an object already; a row handed over is encoded from its
    // own text.
    const text =
      typeof e.id === 'string'
        ? this.encode(e.id, JSON.stringify(e))
        : this.encode(String(e.id), eventJson(e as EventRow));
    return new Frame(text, e);
  }

  /** Reads what a subscriber missed, then lets the events held back meanwhile through. */
  private async catchUp(sub: Subscriber): Promise<void> {
    const subscribed = () => sub.group.subscribers.has(sub);
    for (;;) {
      const { events: page } = await listEvents(
        this.store.db,
        this.store.caps,
        { ...sub.group.filter, after: sub.cursor },
        'asc',
        PAGE,
      );
      if (!subscribed()) return;
      const frames = page.map((e) => this.frame(e));
      const last = frames.at(-1);
      if (last) {
        sub.cursor = last.id;
        sub.sink.send(chunkOf(frames));
        await sub.sink.taken();
        if (!subscribed()) return;
      }
      if (page.length === PAGE) continue;
      if (!sub.overflowed) break;
      sub.overflowed = false;
      sub.held = [];
    }
    const held = sub.held ?? [];
    sub.held = undefined;
    const cursor = sub.cursor;
    // Held are only events its filter passes: those the log has not already sent are the rest.
    const mine = held.filter((f) => f.id > cursor);
    sub.cursor = Math.max(cursor, held.at(-1)?.id ?? 0);
    // Live from here on: the next chunk comes from the feed, which waits for nobody.
    if (mine.length > 0) sub.sink.send(chunkOf(mine));
  }

  private start(): Promise<number> {
    if (this.last !== undefined) return Promise.resolve(this.last);
    this.starting ??= (async () => {
      // Listen first: a commit between reading the head and listening still wakes the feed.
      this.unsubscribe = this.store.onEventsAppended((events) => {
        this.take(events);
        this.wake();
      });
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
    clearTimeout(this.resting);
    this.resting = undefined;
    clearTimeout(this.heldTimer);
    this.heldTimer = undefined;
    this.heldReads = 0;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.last = undefined;
    this.handed = [];
  }

  /** Keeps the events a commit of this node handed over for the next read, if they follow on. */
  private take(events: readonly EventRow[] | undefined): void {
    if (this.last === undefined) return;
    const handed = this.handed;
    if (!events || !handed || handed.length + events.length > MAX_HANDED) {
      this.handed = undefined;
      return;
    }
    // While the log is being read, the first of them follows whatever that read finds.
    const previous = handed.at(-1)?.id ?? (this.reading ? undefined : this.last);
    let next = previous === undefined ? Number(events[0]?.id) : Number(previous) + 1;
    for (const row of events) {
      if (Number(row.id) !== next++) {
        this.handed = undefined;
        return;
      }
    }
    handed.push(...events);
  }

  private wake(): void {
    if (this.last === undefined) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    if (this.resting) return;
    const rest = this.restUntil - performance.now();
    if (rest >= 1) {
      this.resting = setTimeout(() => {
        this.resting = undefined;
        this.wake();
      }, rest);
      this.resting.unref();
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

  /**
   * Reads the next page of the log after the last id read and fans it out (a full page asks for
   * another read, after the fan-out's rest); whether events were held back at its horizon.
   */
  private async read(): Promise<boolean> {
    const from = this.last;
    if (from === undefined) return false;
    let page: readonly (ChangeEvent | EventRow)[];
    let heldThrough = 0;
    const handed = this.handed;
    this.handed = [];
    const fromLog = handed === undefined || handed.length === 0;
    if (!fromLog) {
      // Every event committed after `from`, handed over by this node's commits.
      page = handed;
    } else {
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
        this.handed = undefined;
        return false;
      }
      this.handedAfterRead(Number(page.at(-1)?.id ?? from), page.length === PAGE);
    }
    const last = page.at(-1);
    if (last) {
      this.last = Number(last.id);
      // The horizon moved: what is held back now is held by a newer transaction, so the wait
      // for it starts short again (under a steady stream of writes from several nodes, some
      // event is nearly always held back, each for a few milliseconds only).
      this.heldReads = 0;
    }
    const started = performance.now();
    const chunks = this.fanOut(page);
    const took = performance.now() - started;
    const rest = (took * (1 - FAN_OUT_SHARE)) / FAN_OUT_SHARE;
    this.restUntil =
      performance.now() +
      Math.min(
        MAX_PAUSE_MS,
        chunks > 0 ? Math.max(MIN_GAP_MS, chunks * SOCKET_WRITE_MS, rest) : rest,
      );
    if (fromLog && page.length === PAGE) {
      this.again = true;
      return false;
    }
    return heldThrough > 0;
  }

  /**
   * After a read of the log that ended at `last`: of the events handed over meanwhile, those it
   * found are dropped, and the rest are kept only if they follow on from it (a full page leaves
   * more in the log than it read).
   */
  private handedAfterRead(last: number, full: boolean): void {
    const handed = this.handed;
    if (!handed || handed.length === 0) return;
    const rest = handed.filter((row) => Number(row.id) > last);
    this.handed = full || (rest.length > 0 && Number(rest[0]!.id) !== last + 1) ? undefined : rest;
  }

  /**
   * Sends one read's events: to each subscriber, those its filter passes, in one chunk. The page
   * is split by project once; a project's events go only to the groups of that project, and the
   * whole page to the groups that name none. A group whose project had no event in this read is
   * not visited at all: nothing of the read is its, and its subscribers' cursors need not move
   * (every later read is above this one). Answers how many chunks it wrote.
   */
  private fanOut(page: readonly (ChangeEvent | EventRow)[]): number {
    if (page.length === 0 || this.count === 0) return 0;
    const last = Number(page.at(-1)!.id);
    const everyProject = this.anyProject.size > 0;
    const all: Frame[] = [];
    const byProject = new Map<string, Frame[]>();
    for (const e of page) {
      const followed = this.byProject.has(e.project_id);
      // An event no filter can pass is not even encoded.
      if (!followed && !everyProject) continue;
      const frame = this.frame(e);
      if (everyProject) all.push(frame);
      if (!followed) continue;
      const frames = byProject.get(e.project_id);
      if (frames) frames.push(frame);
      else byProject.set(e.project_id, [frame]);
    }
    let chunks = 0;
    for (const [projectId, frames] of byProject) {
      // Looked up again: a send may close a stream and with it the project's last group.
      for (const group of this.byProject.get(projectId) ?? []) {
        chunks += this.deliver(group, frames, last);
      }
    }
    for (const group of this.anyProject) chunks += this.deliver(group, all, last);
    return chunks;
  }

  /**
   * Sends a group's subscribers what its filter passes of `frames` (in id order, of a read that
   * ends at `last`): one chunk shared by all, unless one has already had some of it from the log.
   * Answers how many chunks it wrote.
   */
  private deliver(group: Group, frames: readonly Frame[], last: number): number {
    if (frames.length === 0) return 0;
    let chunks = 0;
    const first = frames[0]!.id;
    let passed: Frame[] | undefined;
    let chunk: Buffer | undefined;
    for (const sub of group.subscribers) {
      const match = group.match;
      passed ??= match ? frames.filter((f) => match(f.event)) : [...frames];
      if (sub.held) {
        this.hold(sub, passed);
        continue;
      }
      if (sub.cursor < first) {
        // The usual case: nothing of this read sent yet, so the group's chunk is this one's.
        if (passed.length > 0) {
          chunk ??= chunkOf(passed);
          sub.sink.send(chunk);
          chunks++;
        }
      } else {
        // Just caught up from the log, which was ahead of this read: the rest only.
        const cursor = sub.cursor;
        const rest = passed.filter((f) => f.id > cursor);
        if (rest.length > 0) {
          sub.sink.send(chunkOf(rest));
          chunks++;
        }
      }
      sub.cursor = Math.max(sub.cursor, last);
    }
    return chunks;
  }

  /**
   * Holds back what a read brings a subscriber still catching up. Only what its filter passes:
   * the catch-up sends nothing else, the group tests each event once for all its subscribers
   * rather than each catch-up again at its end, and a busy log elsewhere neither fills its
   * memory nor makes it overflow into reading the log again.
   */
  private hold(sub: Subscriber, frames: readonly Frame[]): void {
    if (sub.overflowed || !sub.held) return;
    if (sub.held.length + frames.length > MAX_HELD) {
      sub.held = [];
      sub.overflowed = true;
    } else {
      sub.held.push(...frames);
    }
  }
}
