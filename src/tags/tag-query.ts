import { AppError, type AppErrorKind } from '../core/app-error.js';
import type { ResourceFilter, TagPredicate } from '../store/query-store.js';
import type { JsonObject } from './tag-input.js';
import { codePointLength } from './text-rule.js';

/**
 * Reading query requests: the tag-condition lists of `resource_instances/action` (AS, MRS) and of
 * the cross-service filter, into store predicates. Limits are the documented ones; what breaks
 * them is reported with the error kinds the caller's API maps to its own codes.
 */

export const MAX_CONDITION_KEYS = 10;
export const MAX_CONDITION_VALUES = 10;
export const MAX_CONDITION_KEY_LENGTH = 127;
export const MAX_CONDITION_VALUE_LENGTH = 255;

/**
 * The error kind for a bad key, a bad value, and anything else in a query; a value named twice
 * for one key is `duplicateValue` where given, else a bad value.
 */
export interface QueryErrorKinds {
  readonly key: AppErrorKind;
  readonly value: AppErrorKind;
  readonly other: AppErrorKind;
  readonly duplicateValue?: AppErrorKind;
}

/**
 * Text no tag can hold, which a database may also refuse to compare: U+0000 (PostgreSQL text
 * cannot contain it) and unpaired surrogates (no Unicode character at all).
 */
export function unstorable(s: string): boolean {
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp === 0 || (cp >= 0xd800 && cp <= 0xdfff)) return true;
  }
  return false;
}

/** A value beginning with `*` matches values containing the rest of it. */
const SUBSTRING_PREFIX = '*';

function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * One condition list (`tags`, `tags_any`, `not_tags`, `not_tags_any`): at most 10 keys, unique;
 * each with at most 10 values, unique; an empty (or null, or absent) `values` means any value.
 * An absent or null list is an empty one.
 */
export function readConditions(
  body: JsonObject,
  field: string,
  kinds: QueryErrorKinds,
): TagPredicate[] {
  const list = body[field];
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) {
    throw new AppError(kinds.other, `'${field}' must be an array of {"key","values"} objects.`);
  }
  if (list.length > MAX_CONDITION_KEYS) {
    throw new AppError(
      kinds.other,
      `'${field}' has ${list.length} keys; at most ${MAX_CONDITION_KEYS} are allowed.`,
    );
  }
  const seen = new Set<string>();
  return list.map((item, i) => {
    const where = `${field}[${i}]`;
    if (!isObject(item)) {
      throw new AppError(kinds.other, `${where} must be an object with 'key' and 'values'.`);
    }
    const key = item.key;
    if (key === undefined || key === null) {
      throw new AppError(kinds.key, `${where}.key is required.`);
    }
    if (typeof key !== 'string') throw new AppError(kinds.key, `${where}.key must be a string.`);
    if (key.length === 0) throw new AppError(kinds.key, `${where}.key must not be empty.`);
    if (unstorable(key)) {
      throw new AppError(
        kinds.key,
        `${where}.key contains U+0000 or an unpaired surrogate, which no tag can hold.`,
      );
    }
    const len = codePointLength(key);
    if (len > MAX_CONDITION_KEY_LENGTH) {
      throw new AppError(
        kinds.key,
        `${where}.key must be at most ${MAX_CONDITION_KEY_LENGTH} characters (got ${len}).`,
      );
    }
    if (seen.has(key)) {
      throw new AppError(kinds.key, `The key '${key}' appears more than once in '${field}'.`);
    }
    seen.add(key);
    return { key, ...readValues(item.values, `${where}.values`, kinds) };
  });
}

function readValues(
  values: unknown,
  where: string,
  kinds: QueryErrorKinds,
): { exact: string[]; contains: string[] } {
  const exact: string[] = [];
  const contains: string[] = [];
  if (values === undefined || values === null) return { exact, contains };
  if (!Array.isArray(values)) {
    throw new AppError(kinds.value, `${where} must be an array of strings.`);
  }
  if (values.length > MAX_CONDITION_VALUES) {
    throw new AppError(
      kinds.value,
      `${where} has ${values.length} values; at most ${MAX_CONDITION_VALUES} are allowed per key.`,
    );
  }
  const seen = new Set<string>();
  values.forEach((v, j) => {
    if (typeof v !== 'string') throw new AppError(kinds.value, `${where}[${j}] must be a string.`);
    if (unstorable(v)) {
      throw new AppError(
        kinds.value,
        `${where}[${j}] contains U+0000 or an unpaired surrogate, which no tag can hold.`,
      );
    }
    const len = codePointLength(v);
    if (len > MAX_CONDITION_VALUE_LENGTH) {
      throw new AppError(
        kinds.value,
        `${where}[${j}] must be at most ${MAX_CONDITION_VALUE_LENGTH} characters (got ${len}).`,
      );
    }
    if (seen.has(v)) {
      throw new AppError(
        kinds.duplicateValue ?? kinds.value,
        `The value '${v}' appears more than once in ${where}.`,
      );
    }
    seen.add(v);
    if (v.startsWith(SUBSTRING_PREFIX)) {
      const needle = v.slice(SUBSTRING_PREFIX.length);
      if (needle === '') {
        throw new AppError(
          kinds.value,
          `${where}[${j}] '*' is not a valid value: '*' starts a substring match and must be followed by the text to find.`,
        );
      }
      contains.push(needle);
    } else {
      exact.push(v);
    }
  });
  return { exact, contains };
}

/** `without_any_tag`: a boolean; absent or null is false. */
export function readBoolean(body: JsonObject, field: string, kind: AppErrorKind): boolean {
  const v = body[field];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new AppError(kind, `'${field}' must be true or false.`);
  return v;
}

const DIGITS = /^[0-9]{1,15}$/;

/**
 * A whole number from a JSON integer or a string of digits (`"100"` and `100` alike), within
 * [min, max]; `fallback` when absent or null.
 */
export function readCount(
  raw: unknown,
  field: string,
  range: { readonly min: number; readonly max: number; readonly fallback: number },
  kind: AppErrorKind,
): number {
  if (raw === undefined || raw === null) return range.fallback;
  let n: number | undefined;
  if (typeof raw === 'number' && Number.isSafeInteger(raw)) n = raw;
  else if (typeof raw === 'string' && DIGITS.test(raw)) n = Number(raw);
  const bounds =
    range.max === Number.MAX_SAFE_INTEGER
      ? `a whole number ≥ ${range.min}`
      : `a whole number from ${range.min} to ${range.max}`;
  if (n === undefined) {
    throw new AppError(
      kind,
      `'${field}' must be ${bounds}, given as a number or a string of digits.`,
    );
  }
  if (n < range.min || n > range.max) {
    throw new AppError(kind, `'${field}' must be ${bounds} (got ${n}).`);
  }
  return n;
}

export interface ServiceQuery {
  readonly action: 'filter' | 'count';
  readonly all: TagPredicate[];
  readonly any: TagPredicate[];
  readonly notAll: TagPredicate[];
  readonly notAny: TagPredicate[];
  readonly untagged: boolean;
  readonly name?: { readonly match: 'equals' | 'contains'; readonly value: string };
  readonly offset: number;
  readonly limit: number;
}

/** The store filter a service query asks for, over the resources of `types` in one project. */
export function filterOf(
  projectId: string,
  types: readonly string[],
  q: ServiceQuery,
): ResourceFilter {
  return {
    projectId,
    types,
    all: q.all,
    any: q.any,
    notAll: q.notAll,
    notAny: q.notAny,
    untagged: q.untagged,
    ...(q.name ? { name: q.name } : {}),
  };
}

export interface ServiceQueryRules {
  /** Longest `matches` value, in characters. */
  readonly matchValueMax: number;
  /** A `marker` (the index position an earlier answer returned) may stand for `offset`. */
  readonly markerAsOffset: boolean;
}

export const QUERY_MAX_LIMIT = 1000;

const SERVICE_KINDS: QueryErrorKinds = {
  key: 'query_invalid',
  value: 'query_invalid',
  other: 'query_invalid',
  duplicateValue: 'query_duplicate_value',
};

/** `matches`: `[{"key":"resource_name","value":…}]`: a substring match, exact when empty. */
function readMatches(body: JsonObject, rules: ServiceQueryRules): ServiceQuery['name'] {
  const list = body.matches;
  if (list === undefined || list === null) return undefined;
  if (!Array.isArray(list)) {
    throw new AppError(
      'query_matches_invalid',
      `'matches' must be an array of {"key","value"} objects.`,
    );
  }
  let name: ServiceQuery['name'];
  list.forEach((item, i) => {
    const where = `matches[${i}]`;
    if (!isObject(item)) {
      throw new AppError(
        'query_matches_invalid',
        `${where} must be an object with 'key' and 'value'.`,
      );
    }
    if (item.key !== 'resource_name') {
      throw new AppError(
        'query_matches_invalid',
        `${where}.key must be 'resource_name' (got ${JSON.stringify(item.key ?? null)}).`,
      );
    }
    if (name !== undefined) {
      throw new AppError(
        'query_matches_invalid',
        `'resource_name' appears more than once in 'matches'.`,
      );
    }
    const value = item.value;
    if (typeof value !== 'string' || unstorable(value)) {
      throw new AppError(
        'query_matches_invalid',
        `${where}.value must be a string without U+0000 or unpaired surrogates.`,
      );
    }
    const len = codePointLength(value);
    if (len > rules.matchValueMax) {
      throw new AppError(
        'query_matches_invalid',
        `${where}.value must be at most ${rules.matchValueMax} characters (got ${len}).`,
      );
    }
    name = value === '' ? { match: 'equals', value } : { match: 'contains', value };
  });
  return name;
}

/** The body of `resource_instances/action`. */
export function readServiceQuery(body: JsonObject, rules: ServiceQueryRules): ServiceQuery {
  const action = body.action;
  if (action !== 'filter' && action !== 'count') {
    throw new AppError(
      'action_invalid',
      action === undefined || action === null
        ? "The 'action' field is required: 'filter' or 'count'."
        : `Invalid action ${JSON.stringify(action)}: use 'filter' or 'count' (lowercase).`,
    );
  }
  const all = readConditions(body, 'tags', SERVICE_KINDS);
  const any = readConditions(body, 'tags_any', SERVICE_KINDS);
  const notAll = readConditions(body, 'not_tags', SERVICE_KINDS);
  const notAny = readConditions(body, 'not_tags_any', SERVICE_KINDS);
  const untagged = readBoolean(body, 'without_any_tag', 'query_invalid');
  const name = readMatches(body, rules);
  let offset = 0;
  let limit = QUERY_MAX_LIMIT;
  // Paging is ignored when counting.
  if (action === 'filter') {
    limit = readCount(
      body.limit,
      'limit',
      { min: 1, max: QUERY_MAX_LIMIT, fallback: QUERY_MAX_LIMIT },
      'query_invalid',
    );
    const position =
      body.offset === undefined && rules.markerAsOffset
        ? ['marker', body.marker]
        : ['offset', body.offset];
    offset = readCount(
      position[1],
      position[0] as string,
      { min: 0, max: Number.MAX_SAFE_INTEGER, fallback: 0 },
      'query_invalid',
    );
  }
  return {
    action,
    all,
    any,
    notAll,
    notAny,
    untagged,
    ...(name ? { name } : {}),
    offset,
    limit,
  };
}
