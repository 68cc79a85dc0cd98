import { AppError, type AppErrorKind } from '../core/app-error.js';
import type { ResourceFilter, TagPredicate } from '../store/query-store.js';
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

/** A key of a condition list, as a query has it once its shape is checked. */
export interface ConditionInput {
  readonly key: string;
  /** Absent: any value. */
  readonly values?: readonly string[];
}

/** What is wrong with a condition key, or undefined: what a message says after its place. */
export function conditionKeyProblem(key: string): string | undefined {
  if (key.length === 0) return 'must not be empty';
  if (unstorable(key)) return 'contains U+0000 or an unpaired surrogate, which no tag can hold';
  const len = codePointLength(key);
  if (len > MAX_CONDITION_KEY_LENGTH) {
    return `must be at most ${MAX_CONDITION_KEY_LENGTH} characters (got ${len})`;
  }
  return undefined;
}

/** What is wrong with a condition value, or undefined. */
export function conditionValueProblem(value: string): string | undefined {
  if (unstorable(value)) return 'contains U+0000 or an unpaired surrogate, which no tag can hold';
  const len = codePointLength(value);
  if (len > MAX_CONDITION_VALUE_LENGTH) {
    return `must be at most ${MAX_CONDITION_VALUE_LENGTH} characters (got ${len})`;
  }
  return undefined;
}

/**
 * One condition list (`tags`, `tags_any`, `not_tags`, `not_tags_any`) as store predicates: keys
 * unique within the list, values unique within a key, and `*` only as the start of a substring
 * match. An absent list is an empty one; an absent or empty `values` means any value.
 */
export function conditionPredicates(
  list: readonly ConditionInput[] | undefined,
  field: string,
  kinds: QueryErrorKinds,
): TagPredicate[] {
  const seen = new Set<string>();
  return (list ?? []).map((item, i) => {
    if (seen.has(item.key)) {
      throw new AppError(kinds.key, `The key '${item.key}' appears more than once in '${field}'.`);
    }
    seen.add(item.key);
    return { key: item.key, ...valuePredicates(item.values ?? [], `${field}[${i}].values`, kinds) };
  });
}

function valuePredicates(
  values: readonly string[],
  where: string,
  kinds: QueryErrorKinds,
): { exact: string[]; contains: string[] } {
  const exact: string[] = [];
  const contains: string[] = [];
  const seen = new Set<string>();
  values.forEach((v, j) => {
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

export const SERVICE_QUERY_KINDS: QueryErrorKinds = {
  key: 'query_invalid',
  value: 'query_invalid',
  other: 'query_invalid',
  duplicateValue: 'query_duplicate_value',
};

/** What is wrong with a `matches` value, or undefined. */
export function matchValueProblem(value: string, max: number): string | undefined {
  if (unstorable(value)) return 'must be a string without U+0000 or unpaired surrogates';
  const len = codePointLength(value);
  if (len > max) return `must be at most ${max} characters (got ${len})`;
  return undefined;
}

/** The body of `resource_instances/action`, as it is once its shape is checked. */
export interface ServiceQueryInput {
  readonly action: 'filter' | 'count';
  readonly tags?: readonly ConditionInput[];
  readonly tags_any?: readonly ConditionInput[];
  readonly not_tags?: readonly ConditionInput[];
  readonly not_tags_any?: readonly ConditionInput[];
  readonly without_any_tag?: boolean;
  readonly matches?: readonly { readonly key: 'resource_name'; readonly value: string }[];
  /** Counts are read only when filtering: they are ignored when counting. */
  readonly limit?: unknown;
  readonly offset?: unknown;
  readonly marker?: unknown;
}

/** `matches`: one `resource_name`, a substring match, exact when empty. */
function nameMatch(matches: ServiceQueryInput['matches']): ServiceQuery['name'] {
  if (!matches || matches.length === 0) return undefined;
  if (matches.length > 1) {
    throw new AppError(
      'query_matches_invalid',
      `'resource_name' appears more than once in 'matches'.`,
    );
  }
  const { value } = matches[0]!;
  return value === '' ? { match: 'equals', value } : { match: 'contains', value };
}

/** A service query from its checked body: the conditions, the name match and the page. */
export function serviceQuery(body: ServiceQueryInput, rules: ServiceQueryRules): ServiceQuery {
  const { action } = body;
  const all = conditionPredicates(body.tags, 'tags', SERVICE_QUERY_KINDS);
  const any = conditionPredicates(body.tags_any, 'tags_any', SERVICE_QUERY_KINDS);
  const notAll = conditionPredicates(body.not_tags, 'not_tags', SERVICE_QUERY_KINDS);
  const notAny = conditionPredicates(body.not_tags_any, 'not_tags_any', SERVICE_QUERY_KINDS);
  const untagged = body.without_any_tag ?? false;
  const name = nameMatch(body.matches);
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
