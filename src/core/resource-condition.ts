/**
 * A condition on one stored resource: its tags, its enterprise project and its type. Identity
 * policies become one (auth/policy-conditions.ts) so that a read of many resources can apply
 * them inside its query (store/query/access-condition.ts): totals stay exact and pages full.
 */

/** Text that equals one of `equals` or matches one of `like` (`*` any run, `?` one character). */
export interface TextMatch {
  readonly equals: readonly string[];
  readonly like: readonly string[];
}

/** A value passes when it matches (`negated`: when it does not). */
export interface ValueTest {
  readonly match: TextMatch;
  readonly negated: boolean;
}

export type ResourceCondition =
  | { readonly kind: 'always' }
  | { readonly kind: 'never' }
  | { readonly kind: 'and'; readonly parts: readonly ResourceCondition[] }
  | { readonly kind: 'or'; readonly parts: readonly ResourceCondition[] }
  | { readonly kind: 'not'; readonly part: ResourceCondition }
  /** The resource has a tag `key`, whose value passes `value` when given. */
  | { readonly kind: 'tag'; readonly key: string; readonly value?: ValueTest }
  /** The resource's enterprise project passes the test (every resource has one). */
  | { readonly kind: 'enterpriseProject'; readonly value: ValueTest }
  /** The resource is of one of these types. */
  | { readonly kind: 'type'; readonly types: readonly string[] };

export const ALWAYS: ResourceCondition = Object.freeze({ kind: 'always' });
export const NEVER: ResourceCondition = Object.freeze({ kind: 'never' });

/** Every part holds; constants folded. */
export function allOf(parts: readonly ResourceCondition[]): ResourceCondition {
  const kept: ResourceCondition[] = [];
  for (const p of parts) {
    if (p.kind === 'never') return NEVER;
    if (p.kind === 'and') kept.push(...p.parts);
    else if (p.kind !== 'always') kept.push(p);
  }
  if (kept.length === 0) return ALWAYS;
  return kept.length === 1 ? kept[0]! : { kind: 'and', parts: kept };
}

/** At least one part holds; constants folded. */
export function anyOf(parts: readonly ResourceCondition[]): ResourceCondition {
  const kept: ResourceCondition[] = [];
  for (const p of parts) {
    if (p.kind === 'always') return ALWAYS;
    if (p.kind === 'or') kept.push(...p.parts);
    else if (p.kind !== 'never') kept.push(p);
  }
  if (kept.length === 0) return NEVER;
  return kept.length === 1 ? kept[0]! : { kind: 'or', parts: kept };
}

export function not(part: ResourceCondition): ResourceCondition {
  if (part.kind === 'always') return NEVER;
  if (part.kind === 'never') return ALWAYS;
  if (part.kind === 'not') return part.part;
  return { kind: 'not', part };
}

/**
 * One condition over resources of several types, each type with its own: the types on which
 * nothing can hold are left out, and where every type left has the same condition, no type test
 * is needed.
 */
export function byType(conditions: ReadonlyMap<string, ResourceCondition>): {
  readonly types: string[];
  readonly condition: ResourceCondition;
} {
  const groups = new Map<string, { types: string[]; condition: ResourceCondition }>();
  for (const [type, condition] of conditions) {
    if (condition.kind === 'never') continue;
    const id = JSON.stringify(condition);
    const group = groups.get(id);
    if (group) group.types.push(type);
    else groups.set(id, { types: [type], condition });
  }
  const list = [...groups.values()];
  const types = [...conditions].filter(([, c]) => c.kind !== 'never').map(([t]) => t);
  if (list.length <= 1) return { types, condition: list[0]?.condition ?? NEVER };
  return {
    types,
    condition: anyOf(list.map((g) => allOf([{ kind: 'type', types: g.types }, g.condition]))),
  };
}
