/**
 * Identity policies: validation when a document is written, and the decision for one action in
 * one request context. Pure: no I/O, no framework types.
 *
 * A document is `{"Version":"5.0","Statement":[{"Effect","Action","Resource","Condition"}]}`.
 * The decision for an action:
 *   1. a statement applies when one of its Action patterns matches the action (`*` matches any
 *      run of characters, case-insensitively) and every one of its conditions holds;
 *   2. any applying Deny statement denies (explicit deny wins);
 *   3. otherwise any applying Allow statement allows;
 *   4. otherwise the action is denied (default deny).
 *
 * Conditions: every operator of a statement's Condition block, and every key under it, must hold
 * (AND); the values listed for one key are alternatives (OR). A key has no value, one value, or
 * (g:TagKeys) several:
 *   - StringEquals / StringLike (`*` any run, `?` one character; case-sensitive) hold when a
 *     value of the key matches one listed; a key without a value never matches.
 *   - StringNotEquals / StringNotLike hold when no value of the key matches any listed; so they
 *     hold for a key without a value.
 *   - `ForAnyValue:<op>` holds when at least one value of the key satisfies <op> (never for a
 *     key without values); `ForAllValues:<op>` when every value does (always for a key without
 *     values).
 *   - `Null` with "true" holds when the key has no value, with "false" when it has one.
 */

export type Effect = 'Allow' | 'Deny';

export const OPERATORS = [
  'StringEquals',
  'StringNotEquals',
  'StringLike',
  'StringNotLike',
  'Null',
] as const;
export type Operator = (typeof OPERATORS)[number];
export type SetQualifier = 'ForAllValues' | 'ForAnyValue';

export const CONDITION_KEYS = [
  'g:ResourceTag/<tag-key>',
  'g:RequestTag/<tag-key>',
  'g:TagKeys',
  'g:EnterpriseProjectId',
] as const;

export type ConditionKey =
  | { readonly kind: 'ResourceTag'; readonly tagKey: string }
  | { readonly kind: 'RequestTag'; readonly tagKey: string }
  | { readonly kind: 'TagKeys' }
  | { readonly kind: 'EnterpriseProjectId' };

export interface Condition {
  readonly qualifier?: SetQualifier;
  readonly operator: Operator;
  readonly key: ConditionKey;
  /** Listed values; for Null, one of 'true' / 'false'. */
  readonly values: readonly string[];
  /** Compiled StringLike patterns. */
  readonly patterns?: readonly RegExp[];
}

export interface CompiledStatement {
  readonly effect: Effect;
  /** `policy[i].Statement[j]`, for messages. */
  readonly where: string;
  readonly actions: readonly RegExp[];
  readonly conditions: readonly Condition[];
}

export interface CompiledPolicies {
  readonly statements: readonly CompiledStatement[];
}

/** A policy document that cannot be used; the message names the place and the fix. */
export class PolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyError';
  }
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const VERSIONS = ['5.0', '1.1'];
const ACTION_TEXT = /^[A-Za-z0-9*_.-]+(?::[A-Za-z0-9*_.-]+){0,2}$/;

function escapeRegExp(s: string): string {
  return s.replace(/[.+^${}()|[\]\\]/g, '\\$&');
}

/** Action patterns: `*` matches any run of characters (`:` included); case-insensitive. */
function actionPattern(text: string): RegExp {
  return new RegExp(`^${escapeRegExp(text).replace(/\*/g, '.*')}$`, 'i');
}

/** StringLike patterns: `*` any run, `?` exactly one character (code point); case-sensitive. */
function likePattern(text: string): RegExp {
  let re = '';
  for (const ch of text) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += escapeRegExp(ch);
  }
  return new RegExp(`^${re}$`, 'su');
}

function stringList(v: unknown, where: string, what: string): string[] {
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length === 0) {
    throw new PolicyError(`${where}: '${what}' must be a string or a non-empty array of strings.`);
  }
  list.forEach((x, i) => {
    if (typeof x !== 'string') {
      throw new PolicyError(`${where}: '${what}'[${i}] must be a string.`);
    }
  });
  return list as string[];
}

export function parseConditionKey(text: string): ConditionKey | undefined {
  const lower = text.toLowerCase();
  for (const [prefix, kind] of [
    ['g:resourcetag/', 'ResourceTag'],
    ['g:requesttag/', 'RequestTag'],
  ] as const) {
    if (lower.startsWith(prefix)) {
      // Tag keys are case-sensitive; only the prefix is not.
      const tagKey = text.slice(prefix.length);
      return tagKey === '' ? undefined : { kind, tagKey };
    }
  }
  if (lower === 'g:tagkeys') return { kind: 'TagKeys' };
  if (lower === 'g:enterpriseprojectid') return { kind: 'EnterpriseProjectId' };
  return undefined;
}

function parseOperator(
  text: string,
  where: string,
): { qualifier?: SetQualifier; operator: Operator } {
  const colon = text.indexOf(':');
  const prefix = colon < 0 ? undefined : text.slice(0, colon);
  const name = colon < 0 ? text : text.slice(colon + 1);
  if (prefix !== undefined && prefix !== 'ForAllValues' && prefix !== 'ForAnyValue') {
    throw new PolicyError(
      `${where}: unknown qualifier '${prefix}' in '${text}'; use ForAllValues: or ForAnyValue:.`,
    );
  }
  if (!(OPERATORS as readonly string[]).includes(name)) {
    throw new PolicyError(
      `${where}: unknown condition operator '${text}'; supported: ${OPERATORS.join(', ')}, optionally prefixed with ForAllValues: or ForAnyValue:.`,
    );
  }
  const operator = name as Operator;
  if (operator === 'Null' && prefix !== undefined) {
    throw new PolicyError(`${where}: 'Null' takes no ForAllValues:/ForAnyValue: qualifier.`);
  }
  return prefix === undefined ? { operator } : { qualifier: prefix, operator };
}

function compileConditions(v: unknown, where: string): Condition[] {
  if (v === undefined) return [];
  if (!isObj(v)) {
    throw new PolicyError(`${where}: 'Condition' must be an object of operators.`);
  }
  const out: Condition[] = [];
  for (const [opText, block] of Object.entries(v)) {
    const w = `${where}.Condition.${opText}`;
    const { qualifier, operator } = parseOperator(opText, `${where}.Condition`);
    if (!isObj(block) || Object.keys(block).length === 0) {
      throw new PolicyError(`${w}: must be a non-empty object of condition keys and values.`);
    }
    for (const [keyText, raw] of Object.entries(block)) {
      const key = parseConditionKey(keyText);
      if (!key) {
        throw new PolicyError(
          `${w}: unknown condition key '${keyText}'; supported: ${CONDITION_KEYS.join(', ')}.`,
        );
      }
      if (operator === 'Null') {
        const value = Array.isArray(raw) && raw.length === 1 ? raw[0] : raw;
        if (value !== true && value !== false && value !== 'true' && value !== 'false') {
          throw new PolicyError(`${w}.${keyText}: 'Null' takes "true" or "false".`);
        }
        out.push({ operator, key, values: [String(value)] });
        continue;
      }
      const values = stringList(raw, w, keyText);
      const like = operator === 'StringLike' || operator === 'StringNotLike';
      out.push({
        ...(qualifier ? { qualifier } : {}),
        operator,
        key,
        values,
        ...(like ? { patterns: values.map(likePattern) } : {}),
      });
    }
  }
  return out;
}

const STATEMENT_FIELDS = ['Sid', 'Effect', 'Action', 'Resource', 'Condition'];

function compileStatement(s: unknown, where: string): CompiledStatement {
  if (!isObj(s)) throw new PolicyError(`${where}: must be an object.`);
  for (const k of Object.keys(s)) {
    if (!STATEMENT_FIELDS.includes(k)) {
      throw new PolicyError(
        `${where}: unknown field '${k}' (expected: ${STATEMENT_FIELDS.join(', ')}).`,
      );
    }
  }
  const effect = s.Effect;
  if (effect !== 'Allow' && effect !== 'Deny') {
    throw new PolicyError(`${where}: 'Effect' must be "Allow" or "Deny".`);
  }
  if (s.Action === undefined) throw new PolicyError(`${where}: 'Action' is required.`);
  const actions = stringList(s.Action, where, 'Action').map((a) => {
    if (!ACTION_TEXT.test(a)) {
      throw new PolicyError(
        `${where}: action '${a}' is not of the form <service>:<resource>:<operation> (letters, digits, _ . - and * wildcards).`,
      );
    }
    return actionPattern(a);
  });
  if (s.Resource !== undefined) {
    for (const r of stringList(s.Resource, where, 'Resource')) {
      if (r !== '*') {
        throw new PolicyError(
          `${where}: resource '${r}' is not supported; use "*" and narrow access with conditions (g:ResourceTag/<key>, g:EnterpriseProjectId).`,
        );
      }
    }
  }
  return { effect, where, actions, conditions: compileConditions(s.Condition, where) };
}

/** Checks one policy document and compiles it; throws a PolicyError naming what is wrong. */
export function compilePolicy(doc: unknown, where = 'policy'): CompiledStatement[] {
  if (!isObj(doc)) throw new PolicyError(`${where}: must be a policy document object.`);
  for (const k of Object.keys(doc)) {
    if (k !== 'Version' && k !== 'Statement') {
      throw new PolicyError(`${where}: unknown field '${k}' (expected: Version, Statement).`);
    }
  }
  if (doc.Version !== undefined && !VERSIONS.includes(doc.Version as string)) {
    throw new PolicyError(`${where}: 'Version' must be "5.0".`);
  }
  if (!Array.isArray(doc.Statement) || doc.Statement.length === 0) {
    throw new PolicyError(`${where}: 'Statement' must be a non-empty array.`);
  }
  return doc.Statement.map((s, i) => compileStatement(s, `${where}.Statement[${i}]`));
}

/** Compiles every document attached to a user; `policies[i]` names them in messages. */
export function compilePolicies(docs: readonly unknown[]): CompiledPolicies {
  return { statements: docs.flatMap((d, i) => compilePolicy(d, `policies[${i}]`)) };
}

/** What a decision may depend on, beyond the action. Absent parts give keys without values. */
export interface RequestContext {
  /** The resource's current tags (`g:ResourceTag/<key>`). */
  readonly resourceTags?: ReadonlyMap<string, string>;
  /** The tags the request names, by key (`g:RequestTag/<key>`). */
  readonly requestTags?: ReadonlyMap<string, string>;
  /** The keys the request names (`g:TagKeys`). */
  readonly tagKeys?: readonly string[];
  /** The resource's enterprise project (`g:EnterpriseProjectId`). */
  readonly enterpriseProjectId?: string;
}

function valuesOf(key: ConditionKey, ctx: RequestContext): readonly string[] {
  const one = (v: string | undefined) => (v === undefined ? [] : [v]);
  switch (key.kind) {
    case 'ResourceTag':
      return one(ctx.resourceTags?.get(key.tagKey));
    case 'RequestTag':
      return one(ctx.requestTags?.get(key.tagKey));
    case 'TagKeys':
      return ctx.tagKeys ?? [];
    case 'EnterpriseProjectId':
      return one(ctx.enterpriseProjectId);
  }
}

function matchesListed(c: Condition, value: string): boolean {
  return c.patterns ? c.patterns.some((p) => p.test(value)) : c.values.includes(value);
}

/** Whether one value satisfies the operator (negated operators: matches none listed). */
function satisfies(c: Condition, value: string): boolean {
  const negated = c.operator === 'StringNotEquals' || c.operator === 'StringNotLike';
  return negated ? !matchesListed(c, value) : matchesListed(c, value);
}

function holds(c: Condition, ctx: RequestContext): boolean {
  const values = valuesOf(c.key, ctx);
  if (c.operator === 'Null') return (values.length === 0) === (c.values[0] === 'true');
  if (c.qualifier === 'ForAllValues') return values.every((v) => satisfies(c, v));
  if (c.qualifier === 'ForAnyValue') return values.some((v) => satisfies(c, v));
  const negated = c.operator === 'StringNotEquals' || c.operator === 'StringNotLike';
  return negated ? values.every((v) => satisfies(c, v)) : values.some((v) => satisfies(c, v));
}

export function matchesAction(s: CompiledStatement, action: string): boolean {
  return s.actions.some((p) => p.test(action));
}

export type Decision =
  | { readonly allowed: true; readonly by: string }
  | { readonly allowed: false; readonly explicit: true; readonly by: string }
  | { readonly allowed: false; readonly explicit: false };

/** The decision for one action in one context. */
export function evaluate(
  policies: CompiledPolicies,
  action: string,
  ctx: RequestContext,
): Decision {
  let allow: CompiledStatement | undefined;
  for (const s of policies.statements) {
    if (!matchesAction(s, action) || !s.conditions.every((c) => holds(c, ctx))) continue;
    if (s.effect === 'Deny') return { allowed: false, explicit: true, by: s.where };
    allow ??= s;
  }
  return allow ? { allowed: true, by: allow.where } : { allowed: false, explicit: false };
}

/**
 * What can be known of an action before the request's resource and tags are: `denied` when an
 * unconditional Deny matches it, `never` when no Allow statement names it (so no context can
 * allow it), `possible` otherwise.
 */
export function possibility(
  policies: CompiledPolicies,
  action: string,
):
  | { readonly outcome: 'possible' }
  | { readonly outcome: 'never' }
  | { readonly outcome: 'denied'; readonly by: string } {
  let allowed = false;
  for (const s of policies.statements) {
    if (!matchesAction(s, action)) continue;
    if (s.effect === 'Deny' && s.conditions.length === 0) return { outcome: 'denied', by: s.where };
    if (s.effect === 'Allow') allowed = true;
  }
  return { outcome: allowed ? 'possible' : 'never' };
}
