import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../core/app-error.js';
import { type ChangeEvent, compareCodePoints } from '../core/change-event.js';
import type { Tag } from '../core/tag.js';
import type { Store } from '../store/database.js';
import {
  type EventFilter,
  listEvents,
  resourceEventAt,
  resourceEventsAfter,
} from '../store/events-store.js';
import { getSetting } from '../store/settings-store.js';
import { findResourceWithTags } from '../store/tags-store.js';

/** Where the retention pruner records the newest event it removed: `<id> <time>`. */
export const PRUNED_THROUGH_SETTING = 'events_pruned_through';

export interface EventPage {
  readonly events: ChangeEvent[];
  /** The id to pass back as `since` (ascending) or `before` (descending); null on the last page. */
  readonly nextMarker: string | null;
}

/**
 * One page of the change log: the events matching `filter`, by id in `order`. A page that may
 * have more after it names its last id as the marker of the next. An ascending page ends at the
 * log's horizon (see `listEvents`): an event committed with a smaller id than one already read
 * cannot be passed over by the next page, or by a read `since` the last id later.
 */
export async function readEvents(
  store: Store,
  filter: EventFilter,
  order: 'asc' | 'desc',
  limit: number,
): Promise<EventPage> {
  let read = await listEvents(store.db, store.caps, filter, order, limit + 1);
  // The events held back by the first read had committed before it: wait for them to become
  // final, so that an acknowledged write's event is in the next ascending read (read your
  // writes). Later commits may be held back meanwhile; they are not waited for.
  const committed = read.heldThrough;
  const deadline = Date.now() + HELD_BACK_WAIT_MS;
  for (let n = 0; read.heldThrough > 0 && (read.horizon ?? 0) <= committed; n++) {
    if (Date.now() >= deadline) break;
    await sleep(heldBackDelay(n));
    read = await listEvents(store.db, store.caps, filter, order, limit + 1);
  }
  const rows = read.events;
  const events = rows.slice(0, limit);
  return {
    events,
    nextMarker: rows.length > limit ? (events.at(-1)?.id ?? null) : null,
  };
}

/**
 * How long to wait before reading the log again while events are held back at its horizon (a
 * transaction older than theirs still runs; see listEvents): 2, 4, 8, then every 10 ms, so that
 * they are read within milliseconds of its end; every 100 ms once that has lasted half a second.
 */
export function heldBackDelay(reads: number): number {
  return reads < 50 ? Math.min(10, 2 ** (reads + 1)) : 100;
}

/**
 * How long an ascending read waits at most for events committed before it to become final. A
 * write transaction lasts milliseconds; one that runs longer (a large seed, or a transaction of
 * any database on the same PostgreSQL server left open after writing) delays the answer by this
 * much, and the answer then ends before the events it still holds back.
 */
const HELD_BACK_WAIT_MS = 1_000;

/** A moment of the log: an event id, or a time (RFC 3339 UTC with milliseconds). */
export type Moment = { readonly id: number } | { readonly time: string };

/**
 * A resource's tags as they were at a moment, and its last event at or before then (0: none).
 * Today's tags are undone back to the moment, event by event, newest first: that needs only the
 * events after the moment, so it holds after the resource was deregistered (its last event
 * removed every tag) and as long as retention kept everything after the moment; a moment older
 * than that is refused.
 */
export async function tagsAsOf(
  store: Store,
  projectId: string,
  type: string,
  resourceId: string,
  at: Moment,
): Promise<{ tags: Tag[]; asOfEvent: string | null }> {
  return store.readTransaction(async (tx) => {
    const pruned = await getSetting(tx, PRUNED_THROUGH_SETTING);
    if (pruned !== undefined) {
      const [id, time] = pruned.split(' ');
      if ('id' in at ? at.id < Number(id) : at.time < (time ?? '')) {
        throw new AppError(
          'invalid_parameter',
          `as_of is older than the change log keeps (events up to ${time} have been pruned).`,
        );
      }
    }
    const lastId = await resourceEventAt(
      tx,
      store.caps,
      projectId,
      type,
      resourceId,
      'id' in at ? { atId: at.id } : { atTime: at.time },
    );
    const found = await findResourceWithTags(tx, projectId, type, resourceId);
    const tags = new Map((found?.tags ?? []).map((t) => [t.key, t.value]));
    const later = await resourceEventsAfter(tx, store.caps, projectId, type, resourceId, lastId);
    if (!found && lastId === 0 && later.length === 0) {
      throw new AppError(
        'resource_not_found',
        `No ${type} '${resourceId}' is or was registered in project '${projectId}'.`,
      );
    }
    for (const event of later.reverse()) {
      for (const c of event.changes) {
        if (c.old === null) tags.delete(c.key);
        else tags.set(c.key, c.old);
      }
    }
    const sorted = [...tags.entries()]
      .map(([key, value]) => ({ key, value }))
      .sort((a, b) => compareCodePoints(a.key, b.key));
    return { tags: sorted, asOfEvent: lastId > 0 ? String(lastId) : null };
  });
}
