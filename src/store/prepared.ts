import type { Compilable, CompiledQuery } from 'kysely';
import type { Executor } from './executor.js';
import { nameStatement } from './postgres-pool.js';

/**
 * A query of the hot path, built and compiled once per database kind and then only executed.
 *
 * Building a Kysely query and compiling it to SQL costs more than running a simple statement on
 * SQLite. Here `build` runs once with placeholder arguments; its compiled SQL is kept (per
 * adapter, so SQLite and PostgreSQL each get their own), and each call substitutes the real
 * arguments for the placeholders among its parameters. `shape` distinguishes variants of one
 * query whose SQL depends on the arguments (the number of rows of an insert, of keys in a list).
 */
export function prepared<A extends readonly unknown[], R>(
  build: (ex: Executor, ...args: A) => Compilable<R>,
  shape: (...args: A) => string | number = () => 0,
): (ex: Executor, ...args: A) => Promise<R[]> {
  const cache = new WeakMap<object, Map<string | number, Compiled<R>>>();
  return async (ex: Executor, ...args: A): Promise<R[]> => {
    const adapter = ex.getExecutor().adapter;
    let byShape = cache.get(adapter);
    if (!byShape) {
      byShape = new Map();
      cache.set(adapter, byShape);
    }
    const key = shape(...args);
    let compiled = byShape.get(key);
    if (!compiled) {
      compiled = compile(build, ex, args);
      byShape.set(key, compiled);
    }
    const { query, slots } = compiled;
    const parameters = slots.map((slot, i) =>
      slot === undefined ? query.parameters[i] : pick(args, slot),
    );
    const result = await ex.executeQuery<R>({ ...query, parameters });
    return result.rows;
  };
}

interface Compiled<R> {
  readonly query: CompiledQuery<R>;
  /** For each parameter, the path into the arguments it stands for; undefined: a constant. */
  readonly slots: (readonly (string | number)[] | undefined)[];
}

const MARK = '\u0000tagplane-placeholder:';

/**
 * Replaces every string and number in the arguments (at any depth of arrays and plain objects)
 * with a unique marker, so that the compiled parameters show where each argument went.
 */
function placeholders(value: unknown, path: (string | number)[]): unknown {
  if (typeof value === 'string' || typeof value === 'number')
    return `${MARK}${JSON.stringify(path)}`;
  if (Array.isArray(value)) return value.map((v, i) => placeholders(v, [...path, i]));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, placeholders(v, [...path, k])]),
    );
  }
  return value;
}

function compile<A extends readonly unknown[], R>(
  build: (ex: Executor, ...args: A) => Compilable<R>,
  ex: Executor,
  args: A,
): Compiled<R> {
  const marked = args.map((a, i) => placeholders(a, [i])) as unknown as A;
  const query = build(ex, ...marked).compile();
  if (query.sql.includes(MARK)) {
    throw new Error('a prepared query may use its arguments only as values, not in its SQL text');
  }
  nameStatement(query.sql);
  const slots = query.parameters.map((p) =>
    typeof p === 'string' && p.startsWith(MARK)
      ? (JSON.parse(p.slice(MARK.length)) as (string | number)[])
      : undefined,
  );
  return { query, slots };
}

function pick(args: readonly unknown[], path: readonly (string | number)[]): unknown {
  let v: unknown = args;
  for (const step of path) v = (v as Record<string | number, unknown>)[step];
  return v;
}
