import type { ChangeEvent } from '../core/change-event.js';
import type { EventFilter } from '../store/events-store.js';

/** Whether an event passes a filter, the filter's fields looked at once, when it is made. */
export type EventMatch = (e: ChangeEvent) => boolean;

const always: EventMatch = () => true;

/**
 * The live feed's test of the fields the log's reads filter on (`after` and `before` are the
 * feed's cursor, not tested here): one comparison per field given, none for the others.
 */
export function compileMatch(filter: EventFilter): EventMatch {
  const tests: EventMatch[] = [];
  const { projectId, resourceType, resourceId, userId, from, to, key } = filter;
  if (projectId !== undefined) tests.push((e) => e.project_id === projectId);
  if (resourceType !== undefined) tests.push((e) => e.resource_type === resourceType);
  if (resourceId !== undefined) tests.push((e) => e.resource_id === resourceId);
  if (userId !== undefined) tests.push((e) => e.principal.user_id === userId);
  if (from !== undefined) tests.push((e) => e.time >= from);
  if (to !== undefined) tests.push((e) => e.time <= to);
  if (key !== undefined) tests.push((e) => e.changes.some((c) => c.key === key));
  const [only] = tests;
  if (only === undefined) return always;
  if (tests.length === 1) return only;
  return (e) => {
    for (const test of tests) if (!test(e)) return false;
    return true;
  };
}

/** The same string for filters that pass the same events: subscribers that share it share work. */
export function matchKey(filter: EventFilter): string {
  return JSON.stringify([
    filter.projectId,
    filter.resourceType,
    filter.resourceId,
    filter.userId,
    filter.from,
    filter.to,
    filter.key,
  ]);
}
