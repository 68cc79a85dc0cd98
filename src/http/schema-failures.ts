import { isPlainObject, type Node } from './schema-marks.js';

/*
 * Faults of a value as TypeBox reports them, put in reading order: the order in which a reader
 * going through the value meets them, which is the order an API reads a body in.
 */

export type PathSegment = string | number;

/** One fault of a value, in terms a message can be written from. */
export interface SchemaFailure {
  /**
   * The JSON Schema keyword that failed: `type`, `required` (a property is missing),
   * `additionalProperties` (a property is not allowed), `pattern`, `minLength`, `anyOf`,
   * `refine` (the check of a `refined` schema)…
   */
  readonly keyword: string;
  /**
   * Property names and array indices from the root to the value at fault; for `required` and
   * `additionalProperties`, to the missing or unknown property.
   */
  readonly path: readonly PathSegment[];
  /** The value at fault (undefined when missing). */
  readonly value: unknown;
  /** Its schema; for `additionalProperties`, the schema of the object holding it. */
  readonly schema: Node;
}

function unescapePointer(s: string): string {
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}

function schemaAt(root: Node, schemaPath: string): Node {
  let node: unknown = root;
  for (const part of schemaPath.replace(/^#\/?/, '').split('/')) {
    if (part === '') continue;
    node = (node as Node)[unescapePointer(part)];
  }
  return node as Node;
}

/** The instance path as property names and indices, and the value found there. */
function valueAt(root: unknown, instancePath: string): { path: PathSegment[]; value: unknown } {
  const path: PathSegment[] = [];
  let value = root;
  for (const raw of instancePath.split('/').slice(1)) {
    const part = unescapePointer(raw);
    if (Array.isArray(value)) {
      path.push(Number(part));
      value = value[Number(part)];
    } else {
      path.push(part);
      value = (value as Node | undefined)?.[part];
    }
  }
  return { path, value };
}

/**
 * Where a fault comes when a reader goes through the document: by array index, and within an
 * object unknown properties first, then the properties in the schema's order.
 */
function readingOrder(root: Node, path: readonly PathSegment[]): number[] {
  const key: number[] = [];
  let node: Node | undefined = root;
  for (const seg of path) {
    if (typeof seg === 'number') {
      key.push(seg);
      node = node?.items as Node | undefined;
    } else {
      const props = (node?.properties ?? {}) as Node;
      key.push(Object.keys(props).indexOf(seg));
      node = props[seg] as Node | undefined;
    }
  }
  return key;
}

function compareKeys(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

export interface RawError {
  readonly keyword: string;
  readonly schemaPath: string;
  readonly instancePath: string;
  readonly params: Node;
}

/**
 * Where a union's branch reported a fault, the union itself: its path in the schema, and how
 * many segments of the instance path lead to it (one per `properties/<name>` or `items` step).
 */
function unionOf(e: RawError): RawError | undefined {
  const m = /\/anyOf\/\d+/.exec(e.schemaPath);
  if (!m) return undefined;
  const schemaPath = e.schemaPath.slice(0, m.index);
  const steps = schemaPath
    .split('/')
    .filter((s, i, all) => s === 'items' || all[i - 1] === 'properties');
  const instancePath = e.instancePath
    .split('/')
    .slice(0, steps.length + 1)
    .join('/');
  return { keyword: 'anyOf', schemaPath, instancePath, params: {} };
}

/**
 * The faults TypeBox reports, in reading order. TypeBox stops after a few (eight), reporting in
 * document order, so the first in reading order is among them.
 */
export function failuresOf(
  schema: Node,
  value: unknown,
  errors: readonly RawError[],
): SchemaFailure[] {
  const out: { failure: SchemaFailure; key: number[] }[] = [];
  const add = (failure: SchemaFailure) =>
    out.push({ failure, key: readingOrder(schema, failure.path) });
  for (const raw of errors) {
    // A union's branches each report; the fault is the union's.
    const e = unionOf(raw) ?? raw;
    const at = valueAt(value, e.instancePath);
    if (e.keyword === 'boolean' && e.schemaPath.endsWith('/additionalProperties')) {
      // `additionalProperties: false`, reported for the unknown property itself.
      const node = schemaAt(schema, e.schemaPath.slice(0, -'/additionalProperties'.length));
      add({ keyword: 'additionalProperties', path: at.path, value: at.value, schema: node });
      continue;
    }
    const node = schemaAt(schema, e.schemaPath);
    if (e.keyword === 'required') {
      const props = (node.properties ?? {}) as Record<string, Node>;
      for (const name of e.params.requiredProperties as string[]) {
        add({
          keyword: 'required',
          path: [...at.path, name],
          value: undefined,
          schema: props[name]!,
        });
      }
    } else if (e.keyword === 'additionalProperties') {
      for (const name of e.params.additionalProperties as string[]) {
        add({
          keyword: 'additionalProperties',
          path: [...at.path, name],
          value: (at.value as Node)[name],
          schema: node,
        });
      }
    } else {
      const keyword = e.keyword === '~refine' ? 'refine' : e.keyword;
      add({ keyword, path: at.path, value: at.value, schema: node });
    }
  }
  // A stable sort: faults of one value keep TypeBox's order.
  return out.sort((a, b) => compareKeys(a.key, b.key)).map((x) => x.failure);
}

/**
 * The part of a value a reader has gone through before reaching `path`: earlier items and
 * properties, and the part of the one on the path before it. An object that would lack a
 * required property is left out.
 */
export function prefixBefore(
  schema: unknown,
  value: unknown,
  path: readonly PathSegment[],
): unknown {
  if (path.length === 0 || !isPlainObject(schema)) return undefined;
  const [seg, ...rest] = path;
  if (Array.isArray(value) && typeof seg === 'number') {
    const out = value.slice(0, seg);
    const part = prefixBefore(schema.items, value[seg], rest);
    if (part !== undefined) out.push(part);
    return out;
  }
  if (!isPlainObject(value) || typeof seg !== 'string') return undefined;
  const props = isPlainObject(schema.properties) ? schema.properties : {};
  const names = Object.keys(props);
  const at = names.indexOf(seg);
  const out: Node = {};
  for (const [k, v] of Object.entries(value)) {
    const i = names.indexOf(k);
    if (i >= 0 && i < at) out[k] = v;
  }
  const part = prefixBefore(props[seg], value[seg], rest);
  if (part !== undefined) out[seg] = part;
  const required = Array.isArray(schema.required) ? schema.required : [];
  return required.every((r) => Object.hasOwn(out, String(r))) ? out : undefined;
}
