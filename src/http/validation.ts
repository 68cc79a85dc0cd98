import type { FastifySchemaCompiler, FastifyTypeProvider } from 'fastify';
import type { Static, TObject, TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { AppError } from '../core/app-error.js';
import { type JsonObject, parseJsonObject } from '../tags/tag-input.js';
import {
  failuresOf,
  type PathSegment,
  prefixBefore,
  type RawError,
  type SchemaFailure,
} from './schema-failures.js';
import { isCheckedInCode, isPlainObject, type Node, validatedPart } from './schema-marks.js';

/**
 * Request parts validated from the route's own TypeBox schema: one schema documents the part
 * (OpenAPI), types it (`Static<>`) and checks it, compiled once. A failing value is answered
 * with one error, for the fault a reader meets first, written by the API that owns the schema
 * (`Describe`): a message (the admin API's `invalid_parameter`) or an AppError of the API's own
 * kind (a service's `key_too_long`). Rules a JSON Schema cannot state are part of the schema as
 * `refined` checks (a service's key rule) or the API's `rules` across parts (a key given twice),
 * reported in the same reading order. What needs the store (whether a referenced record exists)
 * or a grammar of its own (a policy document) stays with the domain.
 *
 * The admin and IAM routes are checked before their handler runs (`routeValidation`); the
 * service and cross-service routes read each part in the handler (`CompiledSchema.read`), at the
 * step where the API checks it.
 */

export type { PathSegment, SchemaFailure } from './schema-failures.js';
export { checkedInCode, matching, refined, validatedAs } from './schema-marks.js';

/** The error a part that fails its schema is answered with, unless its API names the fault. */
const invalid = (message: string) => new AppError('invalid_parameter', message);

/** Types `request.body`, `params` and `query` from the route's TypeBox schemas. */
export interface TypeBoxProvider extends FastifyTypeProvider {
  validator: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
  serializer: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
}

/**
 * Writes the message for the fault of a value that is reported (the first in reading order), or
 * the error itself where the API names the fault with a kind of its own.
 */
export type Describe = (failure: SchemaFailure, root: unknown) => string | AppError;

export type NullAsAbsent =
  | 'everywhere'
  | { readonly everywhereBut: readonly string[] }
  | readonly string[];

export interface CompileOptions<V = unknown> {
  readonly describe: Describe;
  /**
   * The API's rules across a value's parts that no schema says (a key given twice), checked on a
   * value of the right shape; they throw the API's AppError. The API reads a value in order, so
   * a rule broken before a value's first fault is reported instead of the fault: the rules are
   * also checked on the part of the value before it, and told where the fault is (`fault`).
   */
  readonly rules?: (value: V, fault?: readonly PathSegment[]) => void;
  /**
   * Where a property given as `null` counts as absent: `everywhere` (every object the schema
   * describes, outside parts checked in code), the same but for some of the root object's
   * properties (`everywhereBut`), or the names of the root object's properties.
   */
  readonly nullAsAbsent?: NullAsAbsent;
}

export type ParseResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: AppError };

/** A schema compiled once, with the messages of the API that reads it. */
export interface CompiledSchema<T extends TSchema = TSchema, V = Static<T>> {
  readonly schema: T;
  parse(value: unknown): ParseResult<V>;
  /** The value typed, or its first fault thrown. */
  read(value: unknown): V;
}

/**
 * The value without the properties given as null where null counts as absent; the value itself
 * when it has none.
 */
const isNameList = (where: NullAsAbsent): where is readonly string[] => Array.isArray(where);

function withoutNulls(schema: unknown, value: unknown, where: NullAsAbsent, root = true): unknown {
  if (isCheckedInCode(schema) || !isPlainObject(schema)) return value;
  const names = isNameList(where) ? where : undefined;
  const kept =
    root && typeof where === 'object' && 'everywhereBut' in where ? where.everywhereBut : [];
  if (Array.isArray(value)) {
    const items = schema.items;
    if (names || !isPlainObject(items)) return value;
    const mapped = value.map((v) => withoutNulls(items, v, where, false));
    return mapped.some((v, i) => v !== value[i]) ? mapped : value;
  }
  const props = schema.properties;
  if (!isPlainObject(value) || !isPlainObject(props)) return value;
  let changed = false;
  const out: Node = {};
  for (const [k, v] of Object.entries(value)) {
    if (!Object.hasOwn(props, k)) {
      out[k] = v;
    } else if (v === null && (names ? names.includes(k) : !kept.includes(k))) {
      changed = true;
    } else {
      const inner = names ? v : withoutNulls(props[k], v, where, false);
      changed ||= inner !== v;
      out[k] = inner;
    }
  }
  return changed ? out : value;
}

/** The root object's schema with the properties not named accepting anything. */
function onlyProperties(schema: TObject, names: readonly string[]): Node {
  const root = schema as unknown as Node;
  const props = (root.properties ?? {}) as Node;
  const required = (root.required ?? []) as string[];
  const kept: Node = {};
  for (const [k, v] of Object.entries(props)) kept[k] = names.includes(k) ? v : {};
  return { ...root, properties: kept, required: required.filter((r) => names.includes(r)) };
}

/** A fault's error: the API's own, or `invalid_parameter` with its message. */
const asError = (d: string | AppError) => (typeof d === 'string' ? invalid(d) : d);

/**
 * Compiles a schema once; `parse` answers the value typed, or the error for its first fault.
 *
 * TypeBox reports an array's items before the array's own faults (too many items), and stops
 * after eight: a long array of bad items would hide that it is too long. An outline of the
 * schema, whose arrays' items are left unchecked, is checked first and reports those faults; it
 * also spares the items' rules a value already refused for its size.
 */
export function compileSchema<T extends TSchema>(
  schema: T,
  options: CompileOptions<Static<T>>,
): CompiledSchema<T> {
  return compile(schema, schema, options);
}

/**
 * Compiles a check of some properties of an object schema: the others are taken as they are,
 * typed `unknown`. For an API that checks the rest of a body later, after a step that depends on
 * these (whether the caller may perform the action named, or act in the project named).
 */
export function compileProperties<T extends TObject, K extends keyof Static<T> & string>(
  schema: T,
  names: readonly K[],
  options: CompileOptions<Pick<Static<T>, K> & Record<string, unknown>>,
): CompiledSchema<T, Pick<Static<T>, K> & Record<string, unknown>> {
  return compile(schema, onlyProperties(schema, names), options);
}

function compile<T extends TSchema, V>(
  schema: T,
  checkedSchema: unknown,
  options: CompileOptions<V>,
): CompiledSchema<T, V> {
  const validator = Compile(validatedPart(checkedSchema) as TSchema);
  const outline = Compile(validatedPart(checkedSchema, true) as TSchema);
  const root = schema as unknown as Node;
  const { nullAsAbsent: nulls, rules } = options;
  /** The AppError a value of the right shape breaks the rules with, if any. */
  const broken = (value: unknown, fault?: readonly PathSegment[]): AppError | undefined => {
    try {
      rules?.(value as V, fault);
      return undefined;
    } catch (err) {
      if (err instanceof AppError) return err;
      throw err;
    }
  };
  const parse = (value: unknown): ParseResult<V> => {
    const checked = nulls === undefined ? value : withoutNulls(schema, value, nulls);
    const errors: RawError[] = [];
    if (!outline.Check(checked)) {
      errors.push(...(outline.Errors(checked) as unknown as RawError[]));
    } else if (validator.Check(checked)) {
      const error = broken(checked);
      return error ? { ok: false, error } : { ok: true, value: checked as V };
    }
    errors.push(...(validator.Errors(checked) as unknown as RawError[]));
    const [first] = failuresOf(root, checked, errors);
    // TypeBox reports at least one error for a value that fails its check.
    if (!first) throw new Error('a value failed its schema check without a reported error');
    if (rules) {
      const before = prefixBefore(root, checked, first.path);
      const error = before !== undefined && validator.Check(before) && broken(before, first.path);
      if (error) return { ok: false, error };
    }
    return { ok: false, error: asError(options.describe(first, checked)) };
  };
  return {
    schema,
    parse,
    read(value) {
      const result = parse(value);
      if (!result.ok) throw result.error;
      return result.value;
    },
  };
}

type RoutePart = 'body' | 'params' | 'querystring' | 'headers';

/** How one request part of a route is read and checked. */
export interface PartValidation {
  readonly compiled: CompiledSchema;
  /** Turns the raw part into the value checked (the body's bytes into JSON); throws AppError. */
  readonly read?: (raw: unknown) => unknown;
}

/**
 * A route's `validatorCompiler`: each part with a schema is read and checked by the compiled
 * schema given for it, which must be the very schema the route documents. A part that fails is
 * answered with an `invalid_parameter` error carrying the schema's message.
 */
export function routeValidation(
  parts: Partial<Record<RoutePart, PartValidation>>,
): FastifySchemaCompiler<TSchema> {
  return ({ schema, httpPart, url }) => {
    const part = parts[httpPart as RoutePart];
    if (!part || part.compiled.schema !== schema) {
      throw new Error(
        `${url}: the ${httpPart} schema is not the one its validation was compiled from`,
      );
    }
    const { compiled, read } = part;
    return (data: unknown) => {
      let value: unknown;
      try {
        value = read ? read(data) : data;
      } catch (err) {
        if (err instanceof AppError) return { error: err };
        throw err;
      }
      const result = compiled.parse(value);
      return result.ok ? { value: result.value } : { error: result.error };
    };
  };
}

/** Reads a body that must be a JSON object (the admin API's bodies). */
export function jsonObjectBody(raw: unknown): JsonObject {
  return parseJsonObject(Buffer.isBuffer(raw) ? raw : undefined);
}

/** Reads a body that may be left out, standing for `{}`, or else is a JSON object. */
export function optionalJsonObjectBody(raw: unknown): JsonObject {
  return Buffer.isBuffer(raw) && raw.length > 0 ? parseJsonObject(raw) : {};
}
