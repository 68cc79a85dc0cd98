import { AppError } from '../core/app-error.js';
import type { ProjectRecord } from '../core/identity.js';
import type { Executor } from '../store/database.js';
import { findProject } from '../store/identity-store.js';

/**
 * The project, or a `resource_not_found` error naming it. Callers that admit any project of the
 * caller's domain (the cross-service API, open mode) or none in particular (the admin API) ask
 * this before they act, so a project that does not exist is answered as such.
 */
export async function requireProject(ex: Executor, projectId: string): Promise<ProjectRecord> {
  const project = await findProject(ex, projectId);
  if (!project) throw new AppError('resource_not_found', `Project '${projectId}' does not exist.`);
  return project;
}
