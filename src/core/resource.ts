/**
 * A registered resource of any service. `type` is one of the registry's resource types
 * (services/registry.ts); it is a plain string here because the kernel knows no service, and
 * `rid` is the store's own key, unique within the project.
 */
export interface ResourceRecord {
  readonly rid: number;
  readonly projectId: string;
  readonly type: string;
  readonly resourceId: string;
  readonly name: string;
  readonly enterpriseProjectId: string;
  readonly createdAt: string;
}
