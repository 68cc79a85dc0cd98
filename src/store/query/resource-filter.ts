import { allOf, type ResourceCondition } from '../../core/resource-condition.js';
import { storable } from './storable.js';

/** What a query asks for, as the tag engine states it, and its simplest equivalent form. */

/**
 * One tag condition: the resource has `key` with one of the `exact` values or a value containing
 * one of the `contains` strings; with both empty, any value.
 */
export interface TagPredicate {
  readonly key: string;
  readonly exact: readonly string[];
  readonly contains: readonly string[];
}

export interface ResourceFilter {
  readonly projectId: string;
  /** Resource types searched; at least one. */
  readonly types: readonly string[];
  /** Every one holds. */
  readonly all: readonly TagPredicate[];
  /** At least one holds (no condition when empty). */
  readonly any: readonly TagPredicate[];
  /** Not all of them hold (no condition when empty). */
  readonly notAll: readonly TagPredicate[];
  /** None holds. */
  readonly notAny: readonly TagPredicate[];
  /** Only resources without any tag. */
  readonly untagged: boolean;
  readonly name?: { readonly match: 'equals' | 'contains'; readonly value: string };
  /**
   * Only resources the caller may read (its identity policies, as a condition on each
   * resource); every resource when absent.
   */
  readonly access?: ResourceCondition;
}

/**
 * A part of a policy condition the tag lists can state, with their posting lists and counting
 * shortcuts: a tag present (with one of some values) is one more `all`, a tag absent (or without
 * those values) one more `notAny`.
 */
function asPredicate(
  c: ResourceCondition,
): { list: 'all' | 'notAny'; pred: TagPredicate } | undefined {
  const atom = c.kind === 'not' ? c.part : c;
  if (atom.kind !== 'tag' || !storable(atom.key)) return undefined;
  let exact: string[] = [];
  if (atom.value) {
    const { match, negated } = atom.value;
    if (negated || match.like.length > 0 || match.equals.length === 0) return undefined;
    if (!match.equals.every(storable)) return undefined;
    exact = [...new Set(match.equals)];
  }
  return {
    list: c.kind === 'not' ? 'notAny' : 'all',
    pred: { key: atom.key, exact, contains: [] },
  };
}

/** The filter with what the tag lists can say of its policy condition moved into them. */
function foldAccess(f: ResourceFilter): ResourceFilter {
  const access = f.access;
  if (!access) return f;
  const all = [...f.all];
  const notAny = [...f.notAny];
  const kept: ResourceCondition[] = [];
  for (const part of access.kind === 'and' ? access.parts : [access]) {
    const p = asPredicate(part);
    if (!p) kept.push(part);
    else if (p.list === 'all') all.push(p.pred);
    else notAny.push(p.pred);
  }
  const { access: _, ...rest } = f;
  const left = allOf(kept);
  return { ...rest, all, notAny, ...(left.kind === 'always' ? {} : { access: left }) };
}

/** The same filter in the form the planner handles best. */
export function normalise(f: ResourceFilter): ResourceFilter {
  if (f.access?.kind === 'always') {
    const { access: _, ...rest } = f;
    return normalise(rest);
  }
  // Without any tag: the tag lists are ignored.
  if (f.untagged) return { ...f, all: [], any: [], notAll: [], notAny: [] };
  // One alternative is simply a condition; one condition not all of which may hold, an exclusion.
  let out = foldAccess(f);
  if (out.any.length === 1) out = { ...out, all: [...out.all, out.any[0]!], any: [] };
  if (out.notAll.length === 1)
    out = { ...out, notAny: [...out.notAny, out.notAll[0]!], notAll: [] };
  return out;
}
