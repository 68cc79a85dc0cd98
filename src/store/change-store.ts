import type { NewChangeEvent } from '../core/change-event.js';
import type { ResourceRecord } from '../core/resource.js';
import type { Tag } from '../core/tag.js';
import { eventsAppended, markEventsAppended } from './event-wakeup.js';
import {
  appendEvents,
  eventRow,
  eventValues,
  firstLockEventValues,
  type NewEventRow,
  nullMask,
} from './events-store.js';
import type { Executor } from './executor.js';
import { prepared } from './prepared.js';
import type { StoreCapabilities } from './store-capabilities.js';
import { deleteTags, putTags, upsertTagsQuery } from './tags-store.js';

/**
 * Writes one change of a resource's tags (the keys to remove, the tags to set) and appends its
 * event to the change log, in the caller's write transaction; no event when there is none.
 *
 * Where each statement is a round trip (PostgreSQL), the tag write and the event insert are one
 * statement (a data-modifying CTE): the log adds no round trip. (The event's id takes no lock:
 * see migration 0013.) `lockedFirst`: the caller locked the resource's row before its
 * transaction wrote anything (`findResourceWithTags`); then the transaction's first event is
 * given its id by the statement, with no order check (migration 0019).
 */
export async function writeChange(
  ex: Executor,
  caps: StoreCapabilities,
  resource: ResourceRecord,
  remove: readonly string[],
  put: readonly Tag[],
  event: NewChangeEvent | undefined,
  lockedFirst = false,
): Promise<void> {
  const together = caps.statementRoundTrips && event !== undefined;
  if (together && (put.length === 0) !== (remove.length === 0)) {
    const ownId = lockedFirst && caps.eventHorizon && !eventsAppended(ex);
    markEventsAppended(ex);
    const row = eventRow(event);
    if (put.length > 0) {
      await putWithEvent(ex, resource.projectId, resource.rid, resource.type, put, row, ownId);
    } else {
      await removeWithEvent(ex, resource.projectId, resource.rid, remove, row, ownId);
    }
    return;
  }
  await deleteTags(ex, resource, remove);
  await putTags(ex, resource, put);
  if (event !== undefined) await appendEvents(ex, [event]);
}

const putWithEvent = prepared(
  (
    ex: Executor,
    projectId: string,
    rid: number,
    type: string,
    tags: readonly Tag[],
    event: NewEventRow,
    ownId: boolean,
  ) =>
    ex
      .with('put', (db) => upsertTagsQuery(db, projectId, rid, type, tags))
      .insertInto('events')
      .values(withId(event, ownId)),
  (_p, _r, _t, tags, event, ownId) => `${tags.length}:${nullMask(event)}:${ownId}`,
);

const removeWithEvent = prepared(
  (
    ex: Executor,
    projectId: string,
    rid: number,
    keys: readonly string[],
    event: NewEventRow,
    ownId: boolean,
  ) =>
    ex
      .with('removed', (db) =>
        db
          .deleteFrom('tags')
          .where('project_id', '=', projectId)
          .where('rid', '=', rid)
          .where('key', 'in', keys),
      )
      .insertInto('events')
      .values(withId(event, ownId)),
  (_p, _r, keys, event, ownId) => `${keys.length}:${nullMask(event)}:${ownId}`,
);

/** The event's values; those of a first event after a first lock where `ownId`. */
function withId(event: NewEventRow, ownId: boolean) {
  return ownId ? firstLockEventValues(event) : eventValues(event);
}
