import { sql } from 'kysely';
import type { Tag } from '../../core/tag.js';
import type { Executor } from '../executor.js';
import type { StoreCapabilities } from '../store-capabilities.js';

export interface FoundResource {
  readonly rid: number;
  readonly type: string;
  readonly resourceId: string;
  readonly name: string;
  /** Keys in code-point order. */
  readonly tags: Tag[];
}

interface ResourceRow {
  rid: number | string;
  resource_type: string;
  resource_id: string;
  name: string;
}

interface TagRow {
  rid: number | string;
  key: string | null;
  value: string | null;
}

/**
 * The rows of the given resources and of their tags. Where a statement is a round trip
 * (`statementRoundTrips`), one: each resource's row repeated beside each of its tags; otherwise
 * two, the resources' rows and the tags', which is less to build.
 */
async function resourceAndTagRows(
  ex: Executor,
  caps: StoreCapabilities,
  projectId: string,
  rids: readonly number[],
): Promise<{ resources: ResourceRow[]; tags: TagRow[] }> {
  if (caps.statementRoundTrips) {
    const project = caps.ridKeyedByProject ? sql` and r.project_id = ${projectId}` : sql``;
    const { rows } = await sql<
      ResourceRow & TagRow
    >`select r.rid, r.resource_type, r.resource_id, r.name, t.key, t.value from resources r left join tags t on t.project_id = ${projectId} and t.rid = r.rid where r.rid in (${sql.join([...rids])})${project} order by r.rid, t.key`.execute(
      ex,
    );
    return { resources: rows, tags: rows };
  }
  let query = ex
    .selectFrom('resources')
    .select(['rid', 'resource_type', 'resource_id', 'name'])
    .where('rid', 'in', [...rids]);
  if (caps.ridKeyedByProject) query = query.where('project_id', '=', projectId);
  const resources = await query.execute();
  const tags = await ex
    .selectFrom('tags')
    .select(['rid', 'key', 'value'])
    .where('project_id', '=', projectId)
    .where('rid', 'in', [...rids])
    .orderBy('rid')
    .orderBy('key')
    .execute();
  return { resources, tags };
}

/** The resources (with their tags) of the given rids, in the order given. */
export async function loadResources(
  ex: Executor,
  caps: StoreCapabilities,
  projectId: string,
  rids: readonly number[],
): Promise<FoundResource[]> {
  if (rids.length === 0) return [];
  const { resources, tags } = await resourceAndTagRows(ex, caps, projectId, rids);
  const byRid = new Map<number, FoundResource>();
  for (const r of resources) {
    const rid = Number(r.rid);
    if (!byRid.has(rid)) {
      byRid.set(rid, {
        rid,
        type: r.resource_type,
        resourceId: r.resource_id,
        name: r.name,
        tags: [],
      });
    }
  }
  // Tags come by rid, then key: each resource's list is in key order.
  for (const t of tags) {
    if (t.key !== null && t.value !== null) {
      byRid.get(Number(t.rid))?.tags.push({ key: t.key, value: t.value });
    }
  }
  const out: FoundResource[] = [];
  for (const rid of rids) {
    const r = byRid.get(rid);
    if (r) out.push(r);
  }
  return out;
}
