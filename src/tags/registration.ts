/**
 * What a tag call on an unregistered resource adds after its service's not-found message: tags
 * live on registered resources only, and nothing on the tag routes says how one is registered.
 */
export function registrationHint(
  resourceType: string,
  ref: { readonly projectId: string; readonly resourceId: string },
): string {
  const path = `/admin/v1/projects/${encodeURIComponent(ref.projectId)}/resources/${resourceType}/${encodeURIComponent(ref.resourceId)}`;
  return `Register it first, with the admin API (PUT ${path}) or in a seed document.`;
}
