import { type Static, type TString, Type } from 'typebox';
import { AppError, type AppErrorKind } from '../core/app-error.js';
import type { Tag, TagSelector } from '../core/tag.js';
import type { TagRules, TextRule } from '../services/profile.js';
import { duplicateKey, MAX_TAGS_IN_REQUEST } from '../tags/tag-input.js';
import { checkText, describeRule } from '../tags/text-rule.js';
import {
  type CompiledSchema,
  compileSchema,
  type PathSegment,
  refined,
  type SchemaFailure,
} from './validation.js';

/*
 * The tags a service body carries, under the service's rules: one schema documents them (the
 * OpenAPI document), types them and checks them, structure and rules together, so that the first
 * fault in reading order is the one reported, as the service reports it: tags in request order,
 * in each the key before the value, in each text its type before its rule. A fault is an
 * AppError of the kind the service's error table maps to its code.
 */

/** A key or value under one of its service's rules: documented from the rule, checked by it. */
function ruledText(rule: TextRule, description: string, lengths: 'both' | 'max'): TString {
  const text = Type.String({
    ...(lengths === 'both' ? { minLength: rule.min } : {}),
    maxLength: rule.max,
    description,
  });
  return refined(text, (s: string) => checkText(s, rule) === undefined);
}

export const keyText = (rules: TagRules, description = `Tag key: ${describeRule(rules.key)}`) =>
  ruledText(rules.key, description, 'both');

export function valueText(rules: TagRules, description?: string): TString {
  return ruledText(
    rules.value,
    description ??
      `Tag value: ${describeRule(rules.value)}${rules.valueRequired ? '' : ' Absent means "".'}`,
    'max',
  );
}

export function tagInput(rules: TagRules, withValue: 'required' | 'optional') {
  const value = valueText(rules);
  return Type.Object({
    key: keyText(rules),
    value: withValue === 'required' ? value : Type.Optional(value),
  });
}

export function tagList(rules: TagRules, withValue: 'required' | 'optional') {
  return Type.Array(tagInput(rules, withValue), { maxItems: MAX_TAGS_IN_REQUEST });
}

/** How a fault's place is named in messages: `tags[2].key`. */
export function placeOf(path: readonly PathSegment[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

const ruleFault = (keyOrValue: 'key' | 'value', where: string, text: string, rule: TextRule) => {
  const v = checkText(text, rule);
  const problem = v?.problem ?? 'invalid';
  const kind: AppErrorKind =
    keyOrValue === 'key'
      ? problem === 'too_short'
        ? 'key_empty'
        : problem === 'too_long'
          ? 'key_too_long'
          : 'key_invalid'
      : problem === 'too_long'
        ? 'value_too_long'
        : 'value_invalid';
  return new AppError(kind, `${where} '${text}' ${v?.detail ?? 'is not valid'}.`);
};

/** A fault of a tag key, named `where`: missing (or null), not a string, or against the rule. */
export function keyFault(f: SchemaFailure, rules: TagRules, where: string): AppError {
  if (f.keyword === 'required' || f.value === null) {
    return new AppError('key_missing', `${where} is required.`);
  }
  if (f.keyword === 'type') return new AppError('key_type', `${where} must be a string.`);
  return ruleFault('key', where, String(f.value), rules.key);
}

/** A fault of a tag value: absent where required, null (never a value), not a string, or the rule. */
export function valueFault(f: SchemaFailure, rules: TagRules, where: string): AppError {
  if (f.keyword === 'required') return new AppError('value_missing', `${where} is required.`);
  if (f.value === null)
    return new AppError('value_missing', `${where} must be a string, not null.`);
  if (f.keyword === 'type') return new AppError('value_type', `${where} must be a string.`);
  return ruleFault('value', where, String(f.value), rules.value);
}

/**
 * The fault of a body holding tags (`tags`, `tag`, a bare `value`), or undefined when it lies
 * elsewhere in the body.
 */
export function tagFault(f: SchemaFailure, rules: TagRules): AppError | undefined {
  const [field, ...rest] = f.path;
  const last = f.path[f.path.length - 1];
  const where = placeOf(f.path);
  if (f.path.length >= 2 && last === 'key') return keyFault(f, rules, where);
  if (f.path.length >= 1 && last === 'value') return valueFault(f, rules, where);
  const list = tagArrayFault(f);
  if (list) return list;
  if (field === 'tag' && rest.length === 0 && (f.keyword === 'required' || f.value === null)) {
    return new AppError('tags_missing', `The '${field}' field is required.`);
  }
  if ((field === 'tags' && rest.length === 1) || (field === 'tag' && rest.length === 0)) {
    return new AppError('tag_malformed', `${where} must be an object with 'key' and 'value'.`);
  }
  return undefined;
}

/** A fault of the `tags` array itself: missing (or null), not an array, or too long. */
export function tagArrayFault(f: SchemaFailure): AppError | undefined {
  const [field] = f.path;
  if (field !== 'tags' || f.path.length !== 1) return undefined;
  if (f.keyword === 'required' || f.value === null) {
    return new AppError('tags_missing', `The '${field}' field is required.`);
  }
  if (f.keyword === 'maxItems' && Array.isArray(f.value)) {
    return new AppError(
      'too_many_in_request',
      `The '${field}' array has ${f.value.length} items; at most ${MAX_TAGS_IN_REQUEST} are accepted in one request.`,
    );
  }
  return new AppError('body_malformed', `The '${field}' field must be an array of tag objects.`);
}

type TagItem = Static<ReturnType<typeof tagInput>>;

/**
 * The rule of a list of tags to create: no key twice. The service reads the tags in order, each
 * whole before the next, so a key repeated before a tag at fault is reported first.
 */
export function uniqueKeys(
  body: { readonly tags: readonly { readonly key: string }[] },
  fault?: readonly PathSegment[],
): void {
  const [field, index] = fault ?? [];
  const read = field === 'tags' && typeof index === 'number' ? index : body.tags.length;
  const dup = duplicateKey(body.tags.slice(0, read));
  if (dup) throw dup;
}

/** Tags to create, from a list checked with `uniqueKeys`: an absent value means "". */
export function tagsToCreate(items: readonly TagItem[]): Tag[] {
  return items.map((t) => ({ key: t.key, value: t.value ?? '' }));
}

/** Tags to delete: a key, and a value only when one was given. */
export function tagsToDelete(items: readonly TagItem[]): TagSelector[] {
  return items.map((t) =>
    t.value === undefined ? { key: t.key } : { key: t.key, value: t.value },
  );
}

/**
 * `{"tags":[…]}` checked under a service's create rules (no key twice) or its delete rules: the
 * service's create and delete bodies, a batch's tags once its action is known, and each
 * resource's share of a cross-service batch.
 */
export interface TagListReader {
  readonly create: CompiledSchema<ReturnType<typeof tagListBody>>;
  readonly delete: CompiledSchema<ReturnType<typeof tagListBody>>;
}

const tagListBody = (rules: TagRules) =>
  Type.Object({ tags: tagList(rules, rules.valueRequired ? 'required' : 'optional') });

function describeTags(rules: TagRules) {
  return (f: SchemaFailure) => tagFault(f, rules) ?? `${placeOf(f.path)} is not valid.`;
}

/** The tags of a body, checked under the create and delete rules of a service. */
export function tagListReader(create: TagRules, del: TagRules): TagListReader {
  return {
    create: compileSchema(tagListBody(create), {
      describe: describeTags(create),
      rules: uniqueKeys,
    }),
    delete: compileSchema(Type.Object({ tags: tagList(del, 'optional') }), {
      describe: describeTags(del),
    }),
  };
}
