import { AppError } from '../core/app-error.js';
import type { DomainRecord, ProjectRecord } from '../core/identity.js';
import type { Executor, Store } from '../store/database.js';
import { deleteProjectEvents } from '../store/events-store.js';
import {
  deleteDomain as deleteDomainRow,
  deleteProject as deleteProjectRow,
  domainContents,
  findDomainById,
  findDomainByName,
  findProject,
  listDomains as listDomainRows,
  listProjects as listProjectRows,
  upsertDomain,
  upsertProject,
} from '../store/identity-store.js';
import { countProjectResources, deleteProjectResources } from '../store/resources-store.js';
import { requireProject } from '../tags/projects.js';

/*
 * Domains and projects for the admin API: listed, created or renamed, deleted when empty, and a
 * project's tag data reset. Names are unique as IAM keeps them: a domain's among domains (users
 * log in with it), a project's in its domain (SDKs find a project id by its region's name).
 * Every change bumps the identity version, so every node's identity cache forgets what it held.
 */

export interface Put<T> {
  readonly record: T;
  /** Whether this call created it (false: it existed, and is renamed if the name differs). */
  readonly created: boolean;
}

export function listDomains(store: Store): Promise<DomainRecord[]> {
  return listDomainRows(store.db);
}

/** Creates a domain, or renames it; a name another domain has is a conflict. */
export function putDomain(
  store: Store,
  d: DomainRecord,
  now = new Date().toISOString(),
): Promise<Put<DomainRecord>> {
  return store.transaction(async (tx) => {
    const named = await findDomainByName(tx, d.name);
    if (named && named.id !== d.id) {
      throw new AppError(
        'conflict',
        `The domain name '${d.name}' belongs to domain '${named.id}'.`,
      );
    }
    const existing = await findDomainById(tx, d.id);
    if (!existing || existing.name !== d.name) await upsertDomain(tx, d, now);
    return { record: { id: d.id, name: d.name }, created: !existing };
  });
}

/** Deletes a domain that holds no projects and no users. */
export async function deleteDomain(store: Store, id: string): Promise<void> {
  await store.transaction(async (tx) => {
    if (!(await findDomainById(tx, id))) {
      throw new AppError('resource_not_found', `Domain '${id}' does not exist.`);
    }
    const held = await domainContents(tx, id);
    if (held.projects > 0 || held.users > 0) {
      throw new AppError(
        'conflict',
        `Domain '${id}' still holds ${held.projects} project(s) and ${held.users} user(s): delete them first.`,
      );
    }
    await deleteDomainRow(tx, id);
  });
}

/** Projects, of one domain when given (none for a domain that does not exist), by id. */
export function listProjects(store: Store, domainId?: string): Promise<ProjectRecord[]> {
  return listProjectRows(store.db, domainId === undefined ? {} : { domainId });
}

async function requireDomain(tx: Executor, id: string): Promise<void> {
  if (!(await findDomainById(tx, id))) {
    throw new AppError('resource_not_found', `Domain '${id}' does not exist.`);
  }
}

/**
 * Creates a project in an existing domain, or renames it. A project stays in the domain it was
 * created in: its resources, and the tokens scoped to it, belong to that domain's users.
 */
export function putProject(
  store: Store,
  p: ProjectRecord,
  now = new Date().toISOString(),
): Promise<Put<ProjectRecord>> {
  return store.transaction(async (tx) => {
    await requireDomain(tx, p.domainId);
    const existing = await findProject(tx, p.id);
    if (existing && existing.domainId !== p.domainId) {
      throw new AppError(
        'conflict',
        `Project '${p.id}' belongs to domain '${existing.domainId}'; a project cannot move to another domain.`,
      );
    }
    const taken = (await listProjectRows(tx, { domainId: p.domainId, name: p.name })).find(
      (other) => other.id !== p.id,
    );
    if (taken) {
      throw new AppError(
        'conflict',
        `The name '${p.name}' belongs to project '${taken.id}' of domain '${p.domainId}'.`,
      );
    }
    if (!existing || existing.name !== p.name) await upsertProject(tx, p, now);
    return { record: { id: p.id, name: p.name, domainId: p.domainId }, created: !existing };
  });
}

/** Deletes a project that holds no resources. */
export async function deleteProject(store: Store, id: string): Promise<void> {
  await store.transaction(async (tx) => {
    await requireProject(tx, id);
    const resources = await countProjectResources(tx, id);
    if (resources > 0) {
      throw new AppError(
        'conflict',
        `Project '${id}' still holds ${resources} resource(s): deregister them, or reset the project (POST /admin/v1/projects/${id}/reset), first.`,
      );
    }
    await deleteProjectRow(tx, id);
  });
}

/**
 * Empties a project of tag data: its resources go, with their tags and attributes, and its change
 * history. The project,
 * its domain and every identity stay; other projects are untouched.
 */
export async function resetProject(store: Store, id: string): Promise<void> {
  await store.transaction(async (tx) => {
    await requireProject(tx, id);
    await deleteProjectResources(tx, id);
    await deleteProjectEvents(tx, store.caps, id);
  });
}
