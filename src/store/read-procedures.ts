import type { ResourceCondition } from '../core/resource-condition.js';
import type { Executor } from './executor.js';
import type { Page } from './query/page-strategy.js';
import type { ResourceFilter } from './query/resource-filter.js';
import { countResources, type FoundResource, findResources } from './query-store.js';
import type { StoreCapabilities } from './store-capabilities.js';
import { distinctKeys, distinctValues, distinctValuesOfKey } from './tag-listing-store.js';

/**
 * The reads that may be expensive (those over many resources), each a procedure of plain data in
 * and plain data out, so that it can run on another thread (see read-pool.ts) as well as on this
 * one: by name, with arguments and results that survive a structured clone.
 */

/** A resource type and which of its resources the caller may read. */
export interface TypeAccess {
  readonly type: string;
  readonly condition: ResourceCondition;
}

export interface KeyValuesRow {
  readonly key: string;
  readonly values: string[];
}

export const READS = {
  /** How many resources match. */
  count: (ex: Executor, caps: StoreCapabilities, a: { filter: ResourceFilter }) =>
    countResources(ex, caps, a.filter),

  /** One page of the matching resources and how many match in all. */
  find: (
    ex: Executor,
    caps: StoreCapabilities,
    a: { filter: ResourceFilter; page: Page },
  ): Promise<{ total: number; resources: FoundResource[] }> =>
    findResources(ex, caps, a.filter, a.page),

  /** A project's keys of one type with their values; with `page`, that slice of the keys. */
  projectTags: async (
    ex: Executor,
    caps: StoreCapabilities,
    a: {
      projectId: string;
      type: string;
      /** Which resources' tags count (the caller's read access). */
      condition: ResourceCondition;
      page?: { offset: number; limit: number };
    },
  ): Promise<{ tags: KeyValuesRow[]; total: number }> => {
    const readable = { caps, condition: a.condition };
    const keys = await distinctKeys(ex, a.projectId, a.type, { readable });
    const shown = a.page ? keys.slice(a.page.offset, a.page.offset + a.page.limit) : keys;
    const values = await distinctValues(ex, a.projectId, a.type, shown, { readable });
    return {
      tags: shown.map((key) => ({ key, values: values.get(key) ?? [] })),
      total: keys.length,
    };
  },

  /**
   * For each type, its first `limit` keys after `after`, ascending, of the resources its
   * condition lets the caller read.
   */
  keysByType: async (
    ex: Executor,
    caps: StoreCapabilities,
    a: { projectId: string; types: readonly TypeAccess[]; after?: string; limit: number },
  ): Promise<string[][]> => {
    const lists: string[][] = [];
    for (const { type, condition } of a.types) {
      lists.push(
        await distinctKeys(ex, a.projectId, type, {
          ...(a.after !== undefined ? { after: a.after } : {}),
          limit: a.limit,
          readable: { caps, condition },
        }),
      );
    }
    return lists;
  },

  /** For each type, the first `limit` values of `key` after `after`, ascending, as above. */
  valuesByType: async (
    ex: Executor,
    caps: StoreCapabilities,
    a: {
      projectId: string;
      types: readonly TypeAccess[];
      key: string;
      after?: string;
      limit: number;
    },
  ): Promise<string[][]> => {
    const lists: string[][] = [];
    for (const { type, condition } of a.types) {
      lists.push(
        await distinctValuesOfKey(ex, a.projectId, type, a.key, {
          ...(a.after !== undefined ? { after: a.after } : {}),
          limit: a.limit,
          readable: { caps, condition },
        }),
      );
    }
    return lists;
  },
} as const;

export type ReadName = keyof typeof READS;
export type ReadArgs<N extends ReadName> = Parameters<(typeof READS)[N]>[2];
export type ReadResult<N extends ReadName> = Awaited<ReturnType<(typeof READS)[N]>>;

/** Runs the read `name` on `ex` (the caller owns the transaction). */
export function runRead<N extends ReadName>(
  name: N,
  ex: Executor,
  caps: StoreCapabilities,
  args: ReadArgs<N>,
): Promise<ReadResult<N>> {
  const procedure = READS[name] as (
    ex: Executor,
    caps: StoreCapabilities,
    args: ReadArgs<N>,
  ) => Promise<ReadResult<N>>;
  return procedure(ex, caps, args);
}
