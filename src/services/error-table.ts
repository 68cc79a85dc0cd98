import type { TagErrorKind } from '../tags/tag-error.js';
import type { ErrorCatalogue, ErrorRow } from './profile.js';

const cache = new WeakMap<ErrorCatalogue, Map<TagErrorKind, ErrorRow>>();

/**
 * The row of the profile's error table for a kind: the row listing it, else the service's generic
 * invalid-parameter code (the first 400 row).
 */
export function errorRowFor(profile: ErrorCatalogue, kind: TagErrorKind): ErrorRow {
  let map = cache.get(profile);
  if (!map) {
    map = new Map();
    for (const row of profile.errors) for (const k of row.kinds) if (!map.has(k)) map.set(k, row);
    cache.set(profile, map);
  }
  const row = map.get(kind) ?? genericRow(profile);
  return row;
}

export function genericRow(profile: ErrorCatalogue): ErrorRow {
  const row = profile.errors.find((r) => r.status === 400);
  if (!row) throw new Error(`profile ${profile.id} has no 400 row`);
  return row;
}
