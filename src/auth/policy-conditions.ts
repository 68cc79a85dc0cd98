import {
  ALWAYS,
  allOf,
  anyOf,
  NEVER,
  not,
  type ResourceCondition,
  type ValueTest,
} from '../core/resource-condition.js';
import {
  type CompiledPolicies,
  type CompiledStatement,
  type Condition,
  matchesAction,
} from './policy-evaluator.js';

/**
 * The resources on which identity policies grant actions, as one condition on a resource: what
 * `evaluate` decides for each resource, with the resource's own tags (`g:ResourceTag/<key>`) and
 * enterprise project (`g:EnterpriseProjectId`) and without request tags, stated so that a query
 * can apply it to every resource it reads. It is exactly the decision, never wider:
 *
 * - an action is granted where some Allow statement naming it has all its conditions holding and
 *   no Deny statement naming it has; every action must be granted;
 * - a resource has at most one value under `g:ResourceTag/<key>` and exactly one enterprise
 *   project, so each operator is a test of that one value or of its absence (see `holds` in
 *   policy-evaluator.ts);
 * - `g:RequestTag/<key>` and `g:TagKeys` have no value on a read.
 */
export function grantedWhere(
  policies: CompiledPolicies,
  actions: readonly string[],
): ResourceCondition {
  return allOf(actions.map((a) => actionGrantedWhere(policies, a)));
}

function actionGrantedWhere(policies: CompiledPolicies, action: string): ResourceCondition {
  const applies = (s: CompiledStatement) => allOf(s.conditions.map(conditionHolds));
  const named = policies.statements.filter((s) => matchesAction(s, action));
  const allowed = anyOf(named.filter((s) => s.effect === 'Allow').map(applies));
  const denied = anyOf(named.filter((s) => s.effect === 'Deny').map(applies));
  return allOf([allowed, not(denied)]);
}

const NEGATED = new Set(['StringNotEquals', 'StringNotLike']);

/** The test a value must pass to satisfy the operator (a negated one: match none listed). */
function satisfying(c: Condition): ValueTest {
  const like = c.operator === 'StringLike' || c.operator === 'StringNotLike';
  return {
    match: like ? { equals: [], like: c.values } : { equals: c.values, like: [] },
    negated: NEGATED.has(c.operator),
  };
}

/** Where one condition holds, for a key with at most one value per resource. */
function conditionHolds(c: Condition): ResourceCondition {
  const key = c.key;
  if (key.kind === 'RequestTag' || key.kind === 'TagKeys') return withoutValue(c);
  const present: ResourceCondition =
    key.kind === 'ResourceTag' ? { kind: 'tag', key: key.tagKey } : ALWAYS;
  /** The key has a value, and it passes the test. */
  const valued = (test: ValueTest): ResourceCondition =>
    key.kind === 'ResourceTag'
      ? { kind: 'tag', key: key.tagKey, value: test }
      : { kind: 'enterpriseProject', value: test };
  if (c.operator === 'Null') return c.values[0] === 'true' ? not(present) : present;
  const test = satisfying(c);
  // ForAllValues: every value satisfies (so also no value); ForAnyValue: one value does.
  if (c.qualifier === 'ForAllValues') return not(valued({ ...test, negated: !test.negated }));
  if (c.qualifier === 'ForAnyValue') return valued(test);
  // Unqualified: a positive operator needs a matching value; a negated one, no matching value.
  return test.negated ? not(valued({ ...test, negated: false })) : valued(test);
}

/** A condition on a key that has no value on a read (the request names no tags). */
function withoutValue(c: Condition): ResourceCondition {
  if (c.operator === 'Null') return c.values[0] === 'true' ? ALWAYS : NEVER;
  if (c.qualifier === 'ForAllValues') return ALWAYS;
  if (c.qualifier === 'ForAnyValue') return NEVER;
  return NEGATED.has(c.operator) ? ALWAYS : NEVER;
}
