import type { TagRules } from './profile.js';
import { defineService } from './profile-check.js';

const createRules: TagRules = {
  key: {
    min: 1,
    max: 36,
    allowed: /^[A-Za-z0-9\-_\u4E00-\u9FFF]$/,
    allowedText: 'A-Z a-z 0-9 - _ and U+4E00–U+9FFF',
  },
  value: {
    min: 0,
    max: 43,
    allowed: /^[A-Za-z0-9.\-_\u4E00-\u9FFF]$/,
    allowedText: 'A-Z a-z 0-9 . - _ and U+4E00–U+9FFF',
  },
  valueRequired: false,
};

// On delete the character set is not checked and the limits are wider.
const deleteRules: TagRules = {
  key: { min: 1, max: 127 },
  value: { min: 0, max: 255 },
  valueRequired: false,
};

const base = '/autoscaling-api/v1/:project_id/:resource_type';

/** Auto Scaling groups (seed: as-create-or-delete-tags.txt). */
export const as = defineService({
  id: 'as',
  title: 'Auto Scaling',
  resourceType: 'as_group',
  resourceNoun: 'scaling group',
  resourceParam: 'resource_id',
  fixedParams: { resource_type: 'scaling_group_tag' },
  maxTags: 10,
  envelope: 'nested',
  errors: [
    {
      code: 'AS.0022',
      status: 400,
      when: 'The body cannot be parsed or is not an object; any other invalid parameter.',
      kinds: ['body_malformed'],
    },
    { code: 'AS.0002', status: 400, when: 'The body is empty.', kinds: ['body_empty'] },
    {
      code: 'AS.0008',
      status: 400,
      when: "Incorrect ProjectID: the project in the URL is not the token's (or the signing key's) project.",
      kinds: ['scope_project', 'scope_domain'],
      message: 'Incorrect ProjectID.',
    },
    { code: 'AS.7044', status: 400, when: "'tags' is missing or null.", kinds: ['tags_missing'] },
    {
      code: 'AS.7045',
      status: 400,
      when: 'More than 10 tags would result.',
      kinds: ['too_many_tags', 'too_many_in_request'],
    },
    {
      code: 'AS.7046',
      status: 400,
      when: 'A key has a forbidden character.',
      kinds: ['key_invalid'],
    },
    {
      code: 'AS.7047',
      status: 400,
      when: 'A value is too long or has a forbidden character.',
      kinds: ['value_too_long', 'value_invalid'],
    },
    {
      code: 'AS.7048',
      status: 400,
      when: "The resource type is not 'scaling_group_tag'.",
      kinds: ['resource_type_invalid'],
    },
    {
      code: 'AS.7049',
      status: 400,
      when: "'action' is missing or not 'create'/'delete'.",
      kinds: ['action_invalid'],
    },
    {
      code: 'AS.7050',
      status: 400,
      when: 'A key appears twice in the request.',
      kinds: ['duplicate_key'],
    },
    {
      code: 'AS.7062',
      status: 400,
      when: 'A key is missing or empty.',
      kinds: ['key_missing', 'key_empty'],
    },
    { code: 'AS.7063', status: 400, when: 'A key is too long.', kinds: ['key_too_long'] },
    {
      code: 'AS.2007',
      status: 400,
      when: 'The scaling group does not exist.',
      kinds: ['resource_not_found'],
    },
    {
      code: 'AS.7052',
      status: 400,
      when: "Invalid 'matches' in a query.",
      kinds: ['query_matches_invalid'],
    },
    {
      code: 'AS.7054',
      status: 400,
      when: 'A key of a query list names a value twice.',
      kinds: ['query_duplicate_value'],
    },
    {
      code: 'AS.0011',
      status: 403,
      when: 'Not allowed: an identity policy refuses the action.',
      kinds: ['forbidden'],
    },
  ],
  internalError: { code: 'AS.0001' },
  create: { rules: createRules, onExisting: 'overwrite' },
  delete: { rules: deleteRules, onAbsent: 'ignore' },
  listExtras: { sys_tags: [] },
  query: { resourceDetail: 'SCALING_GROUP_TAG', marker: true, matchValueMax: 255 },
  projectTags: {},
  authorization: 'policy',
  demoResource: { name: 'web-asg', tags: [{ key: 'env', value: 'dev' }] },
  permissions: {
    create: { action: 'as:groups:createTags' },
    delete: { action: 'as:groups:deleteTags' },
    list: { action: 'as:groups:listTags' },
    projectTags: { action: 'as:groups:listProjectTags' },
    query: { action: 'as:groups:listResourceInstances' },
  },
  routes: [
    {
      operationId: 'CreateOrDeleteScalingTags',
      method: 'POST',
      path: `${base}/:resource_id/tags/action`,
      kind: 'batch-action',
      success: 'no-content',
      summary: 'Create (action "create") or delete (action "delete") tags of a scaling group',
    },
    {
      operationId: 'ListScalingTagInfosByResourceId',
      method: 'GET',
      path: `${base}/:resource_id/tags`,
      kind: 'list',
      summary: 'List the tags of a scaling group',
      companion: true,
    },
    {
      operationId: 'ListScalingTagInfosByTenantId',
      method: 'GET',
      path: `${base}/tags`,
      kind: 'project-tags',
      summary: "List the tags of the project's scaling groups: each key once, with its values",
      companion: true,
    },
    {
      operationId: 'ListResourceInstances',
      method: 'POST',
      path: `${base}/resource_instances/action`,
      kind: 'query',
      summary: 'Find scaling groups by tag (action "filter"), or count them (action "count")',
      companion: true,
    },
  ],
});
