import { sql } from 'kysely';
import type { ResourceRecord } from '../core/resource.js';
import type { Tag } from '../core/tag.js';
import type { Executor, StoreCapabilities } from './database.js';
import { toResourceRecord } from './tags-store.js';

export interface ResourceInput {
  readonly projectId: string;
  readonly type: string;
  readonly resourceId: string;
  readonly name: string;
  readonly enterpriseProjectId: string;
}

/**
 * Registers resources, or updates the name and enterprise project of those already registered.
 *
 * Query results list the newest registration first, ties by resource id. The surrogate `rid` is
 * allocated in registration order, and the resources of one call are inserted in descending
 * resource id, so ordering by `rid` descending gives exactly that order with no second sort key.
 */
export async function registerResources(
  ex: Executor,
  inputs: readonly ResourceInput[],
  now: string,
): Promise<ResourceRecord[]> {
  const sorted = [...inputs].sort((a, b) =>
    a.resourceId < b.resourceId ? 1 : a.resourceId > b.resourceId ? -1 : 0,
  );
  const out: ResourceRecord[] = [];
  for (const r of sorted) {
    const row = await ex
      .insertInto('resources')
      .values({
        project_id: r.projectId,
        resource_type: r.type,
        resource_id: r.resourceId,
        name: r.name,
        enterprise_project_id: r.enterpriseProjectId,
        created_at: now,
      })
      .onConflict((oc) =>
        oc.columns(['project_id', 'resource_type', 'resource_id']).doUpdateSet({
          name: r.name,
          enterprise_project_id: r.enterpriseProjectId,
        }),
      )
      .returningAll()
      .executeTakeFirstOrThrow();
    out.push(toResourceRecord(row));
  }
  return out;
}

/** Removes a resource and its tags. Returns false when it was not registered. */
export async function deregisterResource(
  ex: Executor,
  projectId: string,
  type: string,
  resourceId: string,
): Promise<boolean> {
  const row = await ex
    .deleteFrom('resources')
    .where('project_id', '=', projectId)
    .where('resource_type', '=', type)
    .where('resource_id', '=', resourceId)
    .returning('rid')
    .executeTakeFirst();
  if (!row) return false;
  await ex
    .deleteFrom('tags')
    .where('project_id', '=', projectId)
    .where('rid', '=', Number(row.rid))
    .execute();
  return true;
}

export interface ResourceWithTags extends ResourceRecord {
  readonly tags: Tag[];
}

/** Resources of a project, newest registration first, each with its tags. */
export async function listResourcesWithTags(
  ex: Executor,
  projectId: string,
  type?: string,
): Promise<ResourceWithTags[]> {
  let q = ex.selectFrom('resources').selectAll().where('project_id', '=', projectId);
  if (type) q = q.where('resource_type', '=', type);
  const rows = await q.orderBy('rid', 'desc').execute();
  if (rows.length === 0) return [];
  let tq = ex
    .selectFrom('tags')
    .select(['rid', 'key', 'value'])
    .where('project_id', '=', projectId);
  if (type) tq = tq.where('resource_type', '=', type);
  const tagRows = await tq.orderBy('rid').orderBy('key').execute();
  const byRid = new Map<number, Tag[]>();
  for (const t of tagRows) {
    const rid = Number(t.rid);
    let list = byRid.get(rid);
    if (!list) {
      list = [];
      byRid.set(rid, list);
    }
    list.push({ key: t.key, value: t.value });
  }
  return rows.map((row) => {
    const rec = toResourceRecord(row);
    return { ...rec, tags: byRid.get(rec.rid) ?? [] };
  });
}

/**
 * After rows were loaded in bulk: the planner's statistics of the tenant tables, where the
 * database plans from them (see StoreCapabilities.plansFromStatistics). Without, PostgreSQL takes
 * a freshly filled table for empty and may even look a resource up by scanning the project.
 */
export async function gatherStatistics(ex: Executor, caps: StoreCapabilities): Promise<void> {
  if (caps.plansFromStatistics) await sql`analyze resources, tags`.execute(ex);
}

/** How many resources a project holds. */
export async function countProjectResources(ex: Executor, projectId: string): Promise<number> {
  const row = await ex
    .selectFrom('resources')
    .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
    .where('project_id', '=', projectId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Removes every resource of a project with its tags and attributes; returns how many. */
export async function deleteProjectResources(ex: Executor, projectId: string): Promise<number> {
  await ex.deleteFrom('tags').where('project_id', '=', projectId).execute();
  await ex.deleteFrom('resource_attributes').where('project_id', '=', projectId).execute();
  const r = await ex.deleteFrom('resources').where('project_id', '=', projectId).executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** Resources of a project with a type and name, by registration order (a seed finds one by its name). */
export async function findResourcesByName(
  ex: Executor,
  projectId: string,
  type: string,
  name: string,
): Promise<string[]> {
  const rows = await ex
    .selectFrom('resources')
    .select('resource_id')
    .where('project_id', '=', projectId)
    .where('resource_type', '=', type)
    .where('name', '=', name)
    .orderBy('rid')
    .execute();
  return rows.map((r) => r.resource_id);
}
