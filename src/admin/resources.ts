import { AppError } from '../core/app-error.js';
import type { ChangeOrigin } from '../core/change-event.js';
import type { ResourceType } from '../services/registry.js';
import type { Store } from '../store/database.js';
import { appendEvents, forgetEventIndex } from '../store/events-store.js';
import { resetAll } from '../store/identity-store.js';
import {
  deregisterResource as deleteResource,
  listResourcesWithTags,
  type ResourceWithTags,
  registerResources,
} from '../store/resources-store.js';
import { findResourceWithTags, listTags } from '../store/tags-store.js';
import { requireProject } from '../tags/projects.js';

export type { ResourceWithTags };

/** A resource to register, or to update the name and enterprise project of. */
export interface ResourceRegistration {
  readonly projectId: string;
  readonly type: ResourceType;
  readonly id: string;
  /** Default: "". */
  readonly name?: string;
  /** Default: "0", the default enterprise project. */
  readonly enterpriseProjectId?: string;
}

/**
 * Registers a resource of an existing project so its service can tag it; registering it again
 * updates its name and enterprise project and keeps its tags and registration time.
 */
export async function registerResource(
  store: Store,
  r: ResourceRegistration,
  now = new Date().toISOString(),
): Promise<ResourceWithTags> {
  await requireProject(store.db, r.projectId);
  return store.transaction(async (tx) => {
    const [rec] = await registerResources(
      tx,
      [
        {
          projectId: r.projectId,
          type: r.type,
          resourceId: r.id,
          name: r.name ?? '',
          enterpriseProjectId: r.enterpriseProjectId ?? '0',
        },
      ],
      now,
    );
    return { ...rec!, tags: await listTags(tx, rec!.projectId, rec!.rid) };
  });
}

/** Deregisters a resource; its tags go with it, and their removal is an event of the log. */
export async function deregisterResource(
  store: Store,
  projectId: string,
  type: ResourceType,
  id: string,
  origin: ChangeOrigin,
): Promise<void> {
  const gone = await store.transaction(async (tx) => {
    const found = await findResourceWithTags(tx, projectId, type, id, store.caps.rowLocks);
    if (!found || !(await deleteResource(tx, projectId, type, id))) return false;
    if (found.tags.length > 0) {
      await appendEvents(tx, [
        {
          time: new Date().toISOString(),
          projectId,
          resourceType: type,
          resourceId: id,
          origin,
          changes: found.tags.map((t) => ({ key: t.key, old: t.value, new: null })),
        },
      ]);
    }
    return true;
  });
  if (!gone) {
    throw new AppError(
      'resource_not_found',
      `No ${type} '${id}' is registered in project '${projectId}'.`,
    );
  }
}

/** The registered resources of an existing project with their tags, newest first. */
export async function listResources(
  store: Store,
  projectId: string,
  type?: ResourceType,
): Promise<ResourceWithTags[]> {
  await requireProject(store.db, projectId);
  return listResourcesWithTags(store.db, projectId, type);
}

/** Empties every table of tenant data; the server's settings (admin token, keys) stay. */
export async function resetTenantData(store: Store): Promise<void> {
  await store.transaction(async (tx) => {
    await forgetEventIndex(tx, store.caps);
    await resetAll(tx);
  });
}
