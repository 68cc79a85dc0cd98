import { type QueryCreator, sql } from 'kysely';
import type { ResourceRecord } from '../core/resource.js';
import type { Tag } from '../core/tag.js';
import type { Executor } from './database.js';
import { prepared } from './prepared.js';
import type { Database } from './schema.js';

type ResourceRow = {
  rid: number | string;
  project_id: string;
  resource_type: string;
  resource_id: string;
  name: string;
  enterprise_project_id: string;
  created_at: string;
};

export function toResourceRecord(row: ResourceRow): ResourceRecord {
  return {
    rid: Number(row.rid),
    projectId: row.project_id,
    type: row.resource_type,
    resourceId: row.resource_id,
    name: row.name,
    enterpriseProjectId: row.enterprise_project_id,
    createdAt: row.created_at,
  };
}

/** One row of a resource joined with one of its tags (none: key and value null). */
type ResourceTagRow = ResourceRow & { key: string | null; value: string | null };

const resourceWithTags = prepared(
  (ex: Executor, projectId: string, type: string, resourceId: string) =>
    ex
      .selectFrom('resources as r')
      .leftJoin('tags as t', (j) =>
        j.onRef('t.project_id', '=', 'r.project_id').onRef('t.rid', '=', 'r.rid'),
      )
      .select([
        'r.rid',
        'r.project_id',
        'r.resource_type',
        'r.resource_id',
        'r.name',
        'r.enterprise_project_id',
        'r.created_at',
        't.key',
        't.value',
      ])
      .where('r.project_id', '=', projectId)
      .where('r.resource_type', '=', type)
      .where('r.resource_id', '=', resourceId)
      .orderBy('t.key'),
);

/**
 * The resource row, locked. `first_lock`: the transaction had no xid before this statement (its
 * select list is computed before the row is locked), so it gets one only once the lock is
 * granted (migration 0019). A lock that waited for a newer version of the row computes the list
 * again after locking it: then false, which only costs the event its order check.
 */
const lockedResource = prepared(
  (ex: Executor, projectId: string, type: string, resourceId: string) =>
    ex
      .selectFrom('resources')
      .selectAll()
      .select(sql<boolean>`pg_current_xact_id_if_assigned() is null`.as('first_lock'))
      .where('project_id', '=', projectId)
      .where('resource_type', '=', type)
      .where('resource_id', '=', resourceId)
      .forUpdate(),
);

const tagsOf = prepared((ex: Executor, projectId: string, rid: number) =>
  ex
    .selectFrom('tags')
    .select(['key', 'value'])
    .where('project_id', '=', projectId)
    .where('rid', '=', rid)
    .orderBy('key'),
);

/**
 * The resource with its tags (keys in code-point order), or undefined.
 *
 * With `lock` (databases with row locks), the resource row is locked until the transaction ends,
 * so concurrent writers to one resource take turns and a tag limit checked after the merge holds
 * across processes; its tags are then read by a statement of their own, which sees what the
 * writer before committed (a statement that waited for the lock would still see the tags of its
 * own, older snapshot). Without, one statement reads both. `lockedFirst`: the lock was taken
 * before the transaction wrote anything (see `writeChange`).
 */
export async function findResourceWithTags(
  ex: Executor,
  projectId: string,
  type: string,
  resourceId: string,
  lock = false,
): Promise<{ resource: ResourceRecord; tags: Tag[]; lockedFirst?: boolean } | undefined> {
  // No resource id holds a control character (registration refuses them), and PostgreSQL text
  // cannot carry NUL at all: such an id names no resource on either store.
  if (resourceId.includes('\u0000')) return undefined;
  if (lock) {
    const [row] = await lockedResource(ex, projectId, type, resourceId);
    if (!row) return undefined;
    const resource = toResourceRecord(row);
    const tags = await tagsOf(ex, projectId, resource.rid);
    return { resource, tags, lockedFirst: row.first_lock === true };
  }
  const rows = (await resourceWithTags(ex, projectId, type, resourceId)) as ResourceTagRow[];
  const first = rows[0];
  if (!first) return undefined;
  const tags: Tag[] = [];
  for (const row of rows) if (row.key !== null) tags.push({ key: row.key, value: row.value ?? '' });
  return { resource: toResourceRecord(first), tags };
}

/** Tags of one resource, keys in code-point order. */
export function listTags(ex: Executor, projectId: string, rid: number): Promise<Tag[]> {
  return tagsOf(ex, projectId, rid);
}

/** Sets each key to its value, adding the keys that are new. */
export async function putTags(
  ex: Executor,
  resource: ResourceRecord,
  tags: readonly Tag[],
): Promise<void> {
  if (tags.length === 0) return;
  await insertTags(ex, resource.projectId, resource.rid, resource.type, tags);
}

/** Puts tags on a resource, replacing the values of keys it has; also a CTE of a larger statement. */
export function upsertTagsQuery(
  db: QueryCreator<Database>,
  projectId: string,
  rid: number,
  type: string,
  tags: readonly Tag[],
) {
  return db
    .insertInto('tags')
    .values(
      tags.map((t) => ({
        project_id: projectId,
        rid,
        resource_type: type,
        key: t.key,
        value: t.value,
      })),
    )
    .onConflict((oc) =>
      oc
        .columns(['project_id', 'rid', 'key'])
        .doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })),
    );
}

const insertTags = prepared(
  (ex: Executor, projectId: string, rid: number, type: string, tags: readonly Tag[]) =>
    upsertTagsQuery(ex, projectId, rid, type, tags),
  (_p, _r, _t, tags) => tags.length,
);

export async function deleteTags(
  ex: Executor,
  resource: ResourceRecord,
  keys: readonly string[],
): Promise<void> {
  if (keys.length === 0) return;
  await removeTags(ex, resource.projectId, resource.rid, keys);
}

const removeTags = prepared(
  (ex: Executor, projectId: string, rid: number, keys: readonly string[]) =>
    ex
      .deleteFrom('tags')
      .where('project_id', '=', projectId)
      .where('rid', '=', rid)
      .where('key', 'in', keys),
  (_p, _r, keys) => keys.length,
);
