import type { ApiIdentity, ErrorCatalogue, Permission } from './profile.js';

/** The operations of the cross-service API, each with its own identity-policy action. */
export type CrossServiceOperation =
  | 'batchCreate'
  | 'batchDelete'
  | 'filter'
  | 'tagKeys'
  | 'tagValues'
  | 'providers';

export interface CrossServiceApi extends ApiIdentity, ErrorCatalogue {
  /** Most resources one batch call may name. */
  readonly maxBatchResources: number;
  /** Page size of `resource-instances/filter`. */
  readonly filterLimit: { readonly max: number; readonly fallback: number };
  /** Page size of the tag key and value listings. */
  readonly listLimit: { readonly max: number; readonly fallback: number };
  /**
   * What a caller needs for each operation. Batch operations also need, per resource, the
   * resource's own service permission (create or delete tags).
   */
  readonly permissions: Readonly<Record<CrossServiceOperation, Permission>>;
}

/**
 * The cross-service tag API (TMS-style, `/v1.0`): one surface over every resource type, with its
 * own error table. Tag rules are never its own: a batch applies each resource's service rules
 * and reports that service's codes per resource.
 */
export const tms: CrossServiceApi = {
  id: 'tms',
  title: 'Tag Management (cross-service)',
  envelope: 'flat',
  errors: [
    {
      code: 'TMS.0002',
      status: 400,
      when: 'Bad request: malformed body or query, a missing or invalid field, too many resources.',
      kinds: ['body_malformed', 'invalid_parameter'],
    },
    {
      code: 'TMS.0009',
      status: 400,
      when: 'Invalid tag key in a filter request.',
      kinds: ['key_invalid'],
    },
    {
      code: 'TMS.0010',
      status: 400,
      when: 'Invalid tag value in a filter request.',
      kinds: ['value_invalid'],
    },
    {
      code: 'TMS.5027',
      status: 400,
      when: 'Invalid resource type.',
      kinds: ['resource_type_invalid'],
    },
    {
      code: 'TMS.0005',
      status: 404,
      when: 'The project does not exist.',
      kinds: ['resource_not_found'],
    },
    {
      code: 'TMS.2030',
      status: 403,
      when: "Not allowed: the project is not the token's or not in the caller's domain, or a policy denies the action.",
      kinds: ['forbidden', 'scope_project', 'scope_domain'],
    },
  ],
  internalError: { code: 'TMS.0001' },
  authorization: 'policy',
  maxBatchResources: 50,
  filterLimit: { max: 200, fallback: 200 },
  listLimit: { max: 200, fallback: 200 },
  permissions: {
    batchCreate: { action: 'tms:resourceTags:batchCreate' },
    batchDelete: { action: 'tms:resourceTags:batchDelete' },
    filter: { action: 'tms:resources:list' },
    tagKeys: { action: 'tms:tagKeys:list' },
    tagValues: { action: 'tms:tagValues:list' },
    providers: { action: 'tms:providers:list' },
  },
};

/** Every route of the cross-service API with the operation (and so the action) it performs. */
export const TMS_ROUTES: readonly {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly operationId: string;
  readonly op: CrossServiceOperation;
}[] = [
  {
    method: 'POST',
    path: '/v1.0/resource-tags/batch-create',
    operationId: 'BatchCreateResourceTags',
    op: 'batchCreate',
  },
  {
    method: 'POST',
    path: '/v1.0/resource-tags/batch-delete',
    operationId: 'BatchDeleteResourceTags',
    op: 'batchDelete',
  },
  {
    method: 'POST',
    path: '/v1.0/resource-instances/filter',
    operationId: 'ListResourcesByTags',
    op: 'filter',
  },
  { method: 'GET', path: '/v1.0/tag-keys', operationId: 'ListTagKeys', op: 'tagKeys' },
  { method: 'GET', path: '/v1.0/tag-values', operationId: 'ListTagValues', op: 'tagValues' },
  { method: 'GET', path: '/v1.0/tms/providers', operationId: 'ListProviders', op: 'providers' },
];
