import { type Static, type TSchema, type TUnsafe, Type } from 'typebox';

/*
 * Marks on request schemas for what the document shows differently from what the validator
 * checks: a part checked later in code, a pattern the document cannot state, a wire form other
 * than the documented type, a rule beyond JSON Schema. The marks are hidden properties, so they
 * survive `Type.Optional` and stay out of the documents; `validatedPart` turns a documented
 * schema into the one the validator compiles.
 */

/** Marks a sub-schema that the validator skips; see `checkedInCode`. */
const CHECKED_IN_CODE = '~checkedInCode';

/**
 * A sub-schema documented as written but checked by domain code, whose messages name the fault
 * (a policy document's statement and operator, a tag under its service's rules). The validator
 * accepts any value there, so its static type is `unknown` until the domain has checked it. The
 * mark is a hidden property, so it survives `Type.Optional` and stays out of the documents.
 */
export function checkedInCode(schema: TSchema): TUnsafe<unknown> {
  const opaque = Type.Unsafe<unknown>(schema);
  Object.defineProperty(opaque, CHECKED_IN_CODE, { value: true, enumerable: false });
  return opaque;
}

/** Holds the regular expression a string is validated with; see `matching`. */
const PATTERN = '~pattern';

/**
 * A string schema validated with one of the app's regular expressions, which the document does
 * not show. For rules a JSON Schema pattern cannot state: those are Unicode-mode expressions,
 * counting code points where the app's rule counts UTF-16 code units (RESOURCE_ID_PATTERN).
 */
export function matching<T extends TSchema>(schema: T, pattern: RegExp): T {
  const checked = Type.Unsafe<Static<T>>(schema);
  Object.defineProperty(checked, PATTERN, { value: pattern, enumerable: false });
  return checked as unknown as T;
}

/** Holds the schema a value is validated with, where it differs from the documented one. */
const VALIDATED_AS = '~validatedAs';

/**
 * A part documented as `documented` and validated as `validated`: for a wire form the document
 * names by its meaning (a query parameter documented as a boolean travels as the text `true` or
 * `false`). The static type is the validated one's.
 */
export function validatedAs<V extends TSchema>(documented: TSchema, validated: V): V {
  const part = Type.Unsafe<Static<V>>(documented);
  Object.defineProperty(part, VALIDATED_AS, { value: validated, enumerable: false });
  return part as unknown as V;
}

/** Holds a check a value must also pass; see `refined`. */
const REFINED = '~refined';

/**
 * A schema whose values must also pass `check`: a rule a JSON Schema cannot state (a service's
 * key rule, in code points and character sets). The validator checks the value's type, then the
 * check alone, which states the whole rule: the schema's documented lengths and pattern describe
 * it for the reader. A failing value is reported with the keyword `refine`, in reading order with
 * every other fault, so a message can be written from the rule.
 */
export function refined<T extends TSchema>(schema: T, check: (value: Static<T>) => boolean): T {
  const part = Type.Unsafe<Static<T>>(schema);
  Object.defineProperty(part, REFINED, { value: check, enumerable: false });
  return part as unknown as T;
}

export type Node = Record<string, unknown>;

export const isCheckedInCode = (schema: unknown): boolean =>
  typeof schema === 'object' && schema !== null && CHECKED_IN_CODE in schema;

export const isPlainObject = (v: unknown): v is Node =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The schema as the validator sees it: every part checked in code accepts anything, and a
 * string `matching` a regular expression is checked with it.
 */
export function validatedPart(schema: unknown, outline = false): unknown {
  if (isCheckedInCode(schema)) return {};
  if (Array.isArray(schema)) return schema.map((s) => validatedPart(s, outline));
  if (!isPlainObject(schema)) return schema;
  if (VALIDATED_AS in schema) return validatedPart(schema[VALIDATED_AS], outline);
  const out: Node = {};
  for (const [k, v] of Object.entries(schema)) {
    // The outline leaves array items unchecked; see `compileSchema`.
    out[k] = outline && k === 'items' ? {} : validatedPart(v, outline);
  }
  if (PATTERN in schema) out.pattern = schema[PATTERN];
  if (REFINED in schema) {
    const check = schema[REFINED] as (value: unknown) => boolean;
    for (const k of ['minLength', 'maxLength', 'pattern', 'minimum', 'maximum']) delete out[k];
    const type = schema.type;
    // Values of another type fail the type check; the rule is only asked about its own type.
    const ofType = (v: unknown) => (type === 'string' ? typeof v === 'string' : true);
    out['~refine'] = [{ check: (v: unknown) => !ofType(v) || check(v), error: () => 'refine' }];
  }
  return out;
}
