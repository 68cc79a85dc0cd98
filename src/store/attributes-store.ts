import type { ResourceRecord } from '../core/resource.js';
import type { Executor } from './database.js';

/*
 * Named values a resource holds besides its tags (table `resource_attributes`). They are not
 * tags: no tag route lists, counts or queries them. They go with the resource (a foreign key
 * cascades its deregistration), and travel with it in exports.
 */

/** The value of a resource's attribute, or undefined when it was never set. */
export async function getAttribute(
  ex: Executor,
  resource: ResourceRecord,
  name: string,
): Promise<string | undefined> {
  const row = await ex
    .selectFrom('resource_attributes')
    .select('value')
    .where('project_id', '=', resource.projectId)
    .where('rid', '=', resource.rid)
    .where('name', '=', name)
    .executeTakeFirst();
  return row?.value;
}

/** Sets a resource's attribute. */
export async function setAttribute(
  ex: Executor,
  resource: ResourceRecord,
  name: string,
  value: string,
): Promise<void> {
  await ex
    .insertInto('resource_attributes')
    .values({ project_id: resource.projectId, rid: resource.rid, name, value })
    .onConflict((oc) => oc.columns(['project_id', 'rid', 'name']).doUpdateSet({ value }))
    .execute();
}
