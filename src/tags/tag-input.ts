import { AppError } from '../core/app-error.js';
import type { Tag } from '../core/tag.js';
import type { TagRules } from '../services/profile.js';
import { checkText } from './text-rule.js';

/** Requests whose `tags` array is longer than this are refused before any other work. */
export const MAX_TAGS_IN_REQUEST = 1000;

export type JsonObject = Record<string, unknown>;

// Strict: invalid bytes are an error rather than U+FFFD, which would store text the client never
// sent. A byte order mark is kept, so JSON.parse refuses it as before.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The body parsed as a JSON object, or a `body_empty` or `body_malformed` error. */
export function parseJsonObject(body: Buffer | string | undefined): JsonObject {
  if (body === undefined || body.length === 0) {
    throw new AppError('body_empty', 'The request body is missing; a JSON object is required.');
  }
  let text: string;
  try {
    text = typeof body === 'string' ? body : UTF8.decode(body);
  } catch {
    throw new AppError('body_malformed', 'The request body is not valid UTF-8.');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new AppError(
      'body_malformed',
      `The request body is not valid JSON: ${(err as Error).message}`,
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new AppError('body_malformed', 'The request body must be a JSON object.');
  }
  return parsed as JsonObject;
}

function has(obj: JsonObject, field: string): boolean {
  return Object.hasOwn(obj, field) && obj[field] !== undefined;
}

/*
 * The tags of a seed document's resource (admin/seed-document.ts), read under the resource's
 * service's create rules. The routes read the tags of a request with their compiled schemas
 * (http/tag-body-schemas.ts), whose faults have the same kinds and messages.
 */

/** The `tags` array of a body, checked for presence and size only. */
export function readTagArray(body: JsonObject, field = 'tags'): unknown[] {
  const v = body[field];
  if (v === undefined || v === null) {
    throw new AppError('tags_missing', `The '${field}' field is required.`);
  }
  if (!Array.isArray(v)) {
    throw new AppError('body_malformed', `The '${field}' field must be an array of tag objects.`);
  }
  if (v.length > MAX_TAGS_IN_REQUEST) {
    throw new AppError(
      'too_many_in_request',
      `The '${field}' array has ${v.length} items; at most ${MAX_TAGS_IN_REQUEST} are accepted in one request.`,
    );
  }
  return v;
}

/** Checks one key against the rules; `where` names it in messages (e.g. "tags[2].key"). */
function checkKey(key: unknown, rules: TagRules, where: string): string {
  if (key === undefined || key === null) {
    throw new AppError('key_missing', `${where} is required.`);
  }
  if (typeof key !== 'string') {
    throw new AppError('key_type', `${where} must be a string.`);
  }
  const v = checkText(key, rules.key);
  if (v) {
    const kind =
      v.problem === 'too_short'
        ? 'key_empty'
        : v.problem === 'too_long'
          ? 'key_too_long'
          : 'key_invalid';
    throw new AppError(kind, `${where} '${key}' ${v.detail}.`);
  }
  return key;
}

/**
 * Checks one value; returns undefined when it is absent and not required. `null` is always an
 * error: absent and null are different things on the wire.
 */
function checkValue(
  value: unknown,
  present: boolean,
  rules: TagRules,
  where: string,
): string | undefined {
  if (!present) {
    if (rules.valueRequired) throw new AppError('value_missing', `${where} is required.`);
    return undefined;
  }
  if (value === null) throw new AppError('value_missing', `${where} must be a string, not null.`);
  if (typeof value !== 'string') throw new AppError('value_type', `${where} must be a string.`);
  const v = checkText(value, rules.value);
  if (v) {
    throw new AppError(
      v.problem === 'too_long' ? 'value_too_long' : 'value_invalid',
      `${where} '${value}' ${v.detail}.`,
    );
  }
  return value;
}

function readOne(
  item: unknown,
  rules: TagRules,
  where: string,
): { key: string; value: string | undefined } {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) {
    throw new AppError('tag_malformed', `${where} must be an object with 'key' and 'value'.`);
  }
  const tag = item as JsonObject;
  const key = checkKey(tag.key, rules, `${where}.key`);
  const value = checkValue(tag.value, has(tag, 'value'), rules, `${where}.value`);
  return { key, value };
}

/** The error for the first key given a second time in a request, if any. */
export function duplicateKey(tags: readonly { readonly key: string }[]): AppError | undefined {
  const seen = new Set<string>();
  for (const { key } of tags) {
    if (seen.has(key)) {
      return new AppError(
        'duplicate_key',
        `Tag key '${key}' appears more than once in the request.`,
      );
    }
    seen.add(key);
  }
  return undefined;
}

/**
 * Tags to create: every tag checked in request order, the first problem reported; an absent value
 * means "". A key given twice is an error.
 */
export function readTagsToCreate(
  items: readonly unknown[],
  rules: TagRules,
  field = 'tags',
): Tag[] {
  const seen = new Set<string>();
  const out: Tag[] = [];
  items.forEach((item, i) => {
    const { key, value } = readOne(item, rules, `${field}[${i}]`);
    if (seen.has(key)) {
      throw new AppError(
        'duplicate_key',
        `Tag key '${key}' appears more than once in the request.`,
      );
    }
    seen.add(key);
    out.push({ key, value: value ?? '' });
  });
  return out;
}
