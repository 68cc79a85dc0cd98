import type { ServiceProfile, TagRules } from './profile.js';

const key = {
  min: 1,
  max: 128,
  allowed: /^[\p{L}\p{Nd} _.:=+\-@]$/u,
  allowedText: 'letters, digits, spaces and _ . : = + - @',
  noOuterSpace: true,
  forbiddenPrefixes: ['_sys_', 'sys'],
  forbiddenSuffixes: ['sys'],
} as const;

const value = {
  min: 0,
  max: 255,
  allowed: /^[\p{L}\p{Nd} _.:/=+\-@]$/u,
  allowedText: 'letters, digits, spaces and _ . : / = + - @',
} as const;

const createRules: TagRules = { key, value, valueRequired: true };
const deleteRules: TagRules = { key, value, valueRequired: false };

const base = '/v1/:project_id/dev-servers/hyperinstance/:id/tags';

/** ModelArts Lite Server supernodes (seed: modelarts-lite-server-supernode-create-tags.txt). */
export const modelarts: ServiceProfile = {
  id: 'modelarts',
  title: 'ModelArts Lite Server supernode',
  resourceType: 'modelarts_hyperinstance',
  resourceNoun: 'Lite Server supernode',
  resourceParam: 'id',
  maxTags: 20,
  envelope: 'flat',
  errors: [
    {
      code: 'ModelArts.0101',
      status: 400,
      when: 'Malformed body, missing or invalid field, or a key or value that breaks a rule.',
      kinds: [],
    },
    {
      code: 'ModelArts.7001',
      status: 400,
      when: 'A tag key in the request already exists on the supernode.',
      kinds: ['tag_exists'],
    },
    {
      code: 'ModelArts.7002',
      status: 400,
      when: 'A tag to delete does not exist on the supernode.',
      kinds: ['tag_absent'],
    },
    {
      code: 'ModelArts.7003',
      status: 400,
      when: 'More than 20 tags would result.',
      kinds: ['too_many_tags', 'too_many_in_request'],
    },
    {
      code: 'ModelArts.7004',
      status: 400,
      when: 'The supernode does not exist in this project.',
      kinds: ['resource_not_found'],
    },
    {
      code: 'ModelArts.0203',
      status: 403,
      when: 'The token is scoped to another project, or the caller belongs to another domain.',
      kinds: ['forbidden'],
    },
  ],
  internalError: { code: 'ModelArts.0050' },
  create: { rules: createRules, onExisting: 'reject' },
  delete: { rules: deleteRules, onAbsent: 'reject' },
  // Under identity-policy-based authorisation the seed requires no permission for these APIs.
  authorization: 'none',
  permissions: {
    create: { action: 'modelarts:hyperinstance:createTags' },
    delete: { action: 'modelarts:hyperinstance:deleteTags' },
    list: { action: 'modelarts:hyperinstance:listTags' },
  },
  routes: [
    {
      operationId: 'CreateHyperinstanceTags',
      method: 'POST',
      path: `${base}/create`,
      kind: 'create',
      success: 'tags',
      summary: 'Create tags on a Lite Server supernode',
    },
    {
      operationId: 'DeleteHyperinstanceTags',
      method: 'POST',
      path: `${base}/delete`,
      kind: 'delete',
      success: 'tags',
      summary: 'Delete tags from a Lite Server supernode',
      companion: true,
    },
    {
      operationId: 'ListHyperinstanceTags',
      method: 'GET',
      path: base,
      kind: 'list',
      summary: 'List the tags of a Lite Server supernode',
      companion: true,
    },
  ],
};
