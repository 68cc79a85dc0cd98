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

/** What the caller of `writeChange` knows that spares the event's statement some work. */
export interface ChangeContext {
  /**
   * The caller locked the resource's row before its transaction wrote anything
   * (`findResourceWithTags`): then the transaction's first event is given its id by the
   * statement, with no order check (migration 0019).
   */
  readonly lockedFirst?: boolean;
  /** The project's domain, where known (the identity cache); else the statement looks it up. */
  readonly domainId?: string | undefined;
}

/**
 * Writes one change of a resource's tags (the keys to remove, the tags to set) and appends its
 * event to the change log, in the caller's write transaction; no event when there is none.
 *
 * Where each statement is a round trip (PostgreSQL), the tag write and the event insert are one
 * statement (a data-modifying CTE): the log adds no round trip. (The event's id takes no lock:
 * see migration 0013.)
 */
export async function writeChange(
  ex: Executor,
  caps: StoreCapabilities,
  resource: ResourceRecord,
  remove: readonly string[],
  put: readonly Tag[],
  event: NewChangeEvent | undefined,
  context: ChangeContext = {},
): Promise<void> {
  const together = caps.statementRoundTrips && event !== undefined;
  if (together && (put.length === 0) !== (remove.length === 0)) {
    const own: Own = {
      id: context.lockedFirst === true && caps.eventHorizon && !eventsAppended(ex),
      domain: context.domainId,
    };
    markEventsAppended(ex);
    const row = eventRow(event);
    if (put.length > 0) {
      await putWithEvent(ex, resource.projectId, resource.rid, resource.type, put, row, own);
    } else {
      await removeWithEvent(ex, resource.projectId, resource.rid, remove, row, own);
    }
    return;
  }
  await deleteTags(ex, resource, remove);
  await putTags(ex, resource, put);
  if (event !== undefined) await appendEvents(ex, [event]);
}

/** What the statement appending an event is given rather than working out. */
interface Own {
  /** The id and index key of a first event after a first lock. */
  readonly id: boolean;
  /** The project's domain. */
  readonly domain: string | undefined;
}

/** The variant of a statement appending an event, for `prepared`. */
const variant = (event: NewEventRow, own: Own) =>
  `${nullMask(event)}:${own.id}:${own.domain !== undefined}`;

const putWithEvent = prepared(
  (
    ex: Executor,
    projectId: string,
    rid: number,
    type: string,
    tags: readonly Tag[],
    event: NewEventRow,
    own: Own,
  ) =>
    ex
      .with('put', (db) => upsertTagsQuery(db, projectId, rid, type, tags))
      .insertInto(own.id ? 'event_log' : 'events')
      .values(ownValues(event, own)),
  (_p, _r, _t, tags, event, own) => `${tags.length}:${variant(event, own)}`,
);

const removeWithEvent = prepared(
  (
    ex: Executor,
    projectId: string,
    rid: number,
    keys: readonly string[],
    event: NewEventRow,
    own: Own,
  ) =>
    ex
      .with('removed', (db) =>
        db
          .deleteFrom('tags')
          .where('project_id', '=', projectId)
          .where('rid', '=', rid)
          .where('key', 'in', keys),
      )
      .insertInto(own.id ? 'event_log' : 'events')
      .values(ownValues(event, own)),
  (_p, _r, keys, event, own) => `${keys.length}:${variant(event, own)}`,
);

/** The event's values, with what the statement is given in place of working it out. */
function ownValues(event: NewEventRow, own: Own) {
  return own.id ? firstLockEventValues(event, own.domain) : eventValues(event, own.domain);
}
