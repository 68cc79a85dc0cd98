import type { TagRules } from './profile.js';
import { defineService } from './profile-check.js';

const key = {
  min: 1,
  max: 128,
  allowed: /^[\p{L}\p{Nd} _.:=+\-@]$/u,
  allowedText: 'letters, digits, spaces and _ . : = + - @',
  // The seed's "cannot start or end with sys" is the shortened form of the published "cannot
  // start or end with a space or start with sys" (API reference, 2025-08-20): `mysys` is valid.
  noOuterSpace: true,
  forbiddenPrefixes: ['sys'],
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
export const modelarts = defineService({
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
      when: 'Invalid Argument: malformed body, missing or invalid field, a key or value that breaks a rule, a key that already exists (create), a tag to delete that does not exist, more than 20 tags. The message says which.',
      kinds: [],
      message: 'Invalid Argument: {detail}',
    },
    {
      code: 'ModelArts.6404',
      status: 400,
      when: 'The supernode does not exist in this project.',
      kinds: ['resource_not_found'],
      message: "LiteServer instance '{resource_id}' not found.",
    },
    {
      code: 'ModelArts.0108',
      status: 403,
      when: 'The caller belongs to another domain than the project.',
      kinds: ['scope_domain', 'forbidden'],
      message: 'You are not authorized to perform the ({action}) operation.',
    },
    {
      code: 'ModelArts.0210',
      status: 403,
      when: 'The token is scoped to another project than the one in the URL.',
      kinds: ['scope_project'],
      message: 'The project id in the request URL does not match the token.',
    },
  ],
  internalError: { code: 'ModelArts.0010', message: 'Internal error.' },
  create: { rules: createRules, onExisting: 'reject' },
  delete: { rules: deleteRules, onAbsent: 'reject' },
  // Under identity-policy-based authorisation the seed requires no permission for these APIs.
  authorization: 'none',
  demoResource: { name: 'supernode-1', tags: [{ key: 'team', value: 'ml' }] },
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
});
