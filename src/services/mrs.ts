import type { ResourceSwitch, RouteErrors, TagRules } from './profile.js';
import { defineService } from './profile-check.js';

const FORBIDDEN = '=*<>\\,|/';

// An absent value means "": the Terraform providers send `{"key":"k"}` for an empty value.
const createRules: TagRules = {
  key: { min: 1, max: 36, noControl: true, forbidden: FORBIDDEN, noOuterSpace: true },
  value: { min: 0, max: 43, noControl: true, forbidden: FORBIDDEN, noOuterSpace: true },
  valueRequired: false,
};

// On delete the character set is not checked; the lengths still are.
const deleteRules: TagRules = {
  key: { min: 1, max: 36 },
  value: { min: 0, max: 43 },
  valueRequired: false,
};

const clusters = '/v1.1/:project_id/clusters';
const base = `${clusters}/:cluster_id/tags`;
const v2 = '/v2/:project_id/clusters/:cluster_id/tags';

/**
 * API v2 answers its own errors as `{"error_code":"MRS.00000000","error_msg":…}`, the message
 * saying what is wrong (MRS API reference: ShowTagQuota, ShowDefaultTagStatus,
 * SwitchClusterTags). Credentials, scope and permission refusals answer as in API v1.1.
 */
const v2Errors: RouteErrors = {
  id: 'mrs-v2',
  envelope: 'flat',
  errors: [
    {
      code: 'MRS.00000000',
      status: 400,
      when: 'A body that is not a JSON object, an action other than create or delete, an auto_scaling_policy_tags other than true or false, or a cluster that does not exist: the message says which.',
      kinds: [
        'body_malformed',
        'media_type',
        'action_invalid',
        'invalid_parameter',
        'resource_not_found',
      ],
    },
  ],
};

/** A cluster's default tags: once on, the cluster's nodes carry the cluster's default tags. */
const defaultTags: ResourceSwitch = { attribute: 'mrs.default_tags', field: 'default_tags_enable' };

/** MRS clusters, API v1.1 (seed: mrs-batch-tags.txt). */
export const mrs = defineService({
  id: 'mrs',
  title: 'MapReduce Service',
  resourceType: 'mrs_cluster',
  resourceNoun: 'cluster',
  resourceParam: 'cluster_id',
  maxTags: 10,
  envelope: 'flat',
  errors: [
    {
      code: '12000002',
      status: 400,
      when: 'Malformed body, missing field or bad action.',
      kinds: ['body_malformed'],
    },
    {
      code: '12005001',
      status: 400,
      when: 'More than 10 tags would result.',
      kinds: ['too_many_tags', 'too_many_in_request'],
    },
    {
      code: '12005002',
      status: 400,
      when: 'Invalid characters or lengths, leading or trailing spaces, or a duplicate key.',
      kinds: [
        'key_empty',
        'key_too_long',
        'key_invalid',
        'value_too_long',
        'value_invalid',
        'duplicate_key',
      ],
    },
    {
      code: '12000003',
      status: 400,
      when: 'The cluster does not exist.',
      kinds: ['resource_not_found'],
    },
    {
      code: '12005003',
      status: 404,
      when: 'Single delete of a key the cluster does not have.',
      kinds: ['tag_absent'],
    },
    {
      code: '12000052',
      status: 400,
      when: "The project or domain is not the caller's.",
      kinds: ['scope_project', 'scope_domain'],
      message: 'No access rights.',
    },
    {
      code: '12000136',
      status: 401,
      when: "An IAM user's identity policies refuse the action.",
      kinds: ['forbidden'],
      message: "Permission denied. Error message: Policy doesn't allow {action} to be performed.",
    },
  ],
  internalError: { code: '12000004', message: 'Internal server error.' },
  create: { rules: createRules, onExisting: 'overwrite' },
  delete: { rules: deleteRules, onAbsent: 'ignore' },
  query: { resourceDetail: null, marker: false, matchValueMax: 64 },
  projectTags: {},
  authorization: 'policy',
  demoResource: { name: 'analytics', tags: [{ key: 'env', value: 'dev' }] },
  permissions: {
    create: { action: 'mrs:cluster:batchCreateTags' },
    delete: { action: 'mrs:cluster:batchDeleteTags' },
    list: { action: 'mrs:cluster:listTags' },
    projectTags: { action: 'mrs:cluster:listProjectTags' },
    query: { action: 'mrs:cluster:listResourceInstances' },
    // API v2: the MRS permission reference's tag actions.
    quota: { action: 'mrs:tag:list' },
    switchStatus: { action: 'mrs:tag:list' },
    switch: { action: 'mrs:tag:batchOperate' },
  },
  routes: [
    {
      operationId: 'BatchCreateOrDeleteClusterTags',
      method: 'POST',
      path: `${base}/action`,
      kind: 'batch-action',
      success: 'no-content',
      summary: 'Add (action "create") or delete (action "delete") tags of a cluster in a batch',
    },
    {
      operationId: 'CreateClusterTag',
      method: 'POST',
      path: base,
      kind: 'add-one',
      success: 'no-content',
      summary: 'Add one tag to a cluster',
      companion: true,
    },
    {
      operationId: 'DeleteClusterTag',
      method: 'DELETE',
      path: `${base}/:key`,
      kind: 'delete-one',
      success: 'no-content',
      summary: 'Delete one tag of a cluster; a key the cluster lacks is an error',
      companion: true,
    },
    {
      operationId: 'ListClusterTags',
      method: 'GET',
      path: base,
      kind: 'list',
      summary: 'List the tags of a cluster',
      companion: true,
    },
    {
      operationId: 'ListAllTags',
      method: 'GET',
      path: `${clusters}/tags`,
      kind: 'project-tags',
      summary: "List the tags of the project's clusters: each key once, with its values",
      companion: true,
    },
    {
      operationId: 'ListClustersByTags',
      method: 'POST',
      path: `${clusters}/resource_instances/action`,
      kind: 'query',
      summary: 'Find clusters by tag (action "filter"), or count them (action "count")',
      companion: true,
    },
    {
      operationId: 'ShowTagQuota',
      method: 'GET',
      path: `${v2}/quota`,
      kind: 'quota',
      summary: 'How many tags the cluster may have (total_quota) and how many more it can take',
      companion: true,
      errors: v2Errors,
      query: {
        auto_scaling_policy_tags: {
          type: 'boolean',
          description:
            'Whether to query the quota of auto scaling policy tags: true or false. tagplane keeps no auto scaling policies, so the answer is the cluster tag quota either way; any other value is a 400.',
        },
      },
    },
    {
      operationId: 'ShowTagStatus',
      method: 'GET',
      path: `${v2}/status`,
      kind: 'switch-status',
      summary: "Whether the cluster's default tags are on",
      companion: true,
      errors: v2Errors,
      switch: defaultTags,
    },
    {
      operationId: 'SwitchClusterTags',
      method: 'POST',
      path: `${v2}/switch`,
      kind: 'switch',
      success: 'accepted',
      summary: 'Turn the cluster\'s default tags on (action "create") or off (action "delete")',
      companion: true,
      errors: v2Errors,
      switch: defaultTags,
    },
  ],
});
