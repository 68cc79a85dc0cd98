import type { TagRules } from './profile.js';
import { defineService } from './profile-check.js';

const FORBIDDEN = '=*<>\\,|/';

const createRules: TagRules = {
  key: { min: 1, max: 36, noControl: true, forbidden: FORBIDDEN },
  value: { min: 0, max: 43, noControl: true, forbidden: FORBIDDEN },
  valueRequired: false,
};

// Deleting BMS Tags (API reference, 2025-12-09) checks the key's length only, and the value's
// length and characters as on create.
const deleteRules: TagRules = {
  key: { min: 1, max: 36 },
  value: createRules.value,
  valueRequired: false,
};

const base = '/v1/:project_id/baremetalservers/:server_id/tags';

/** Bare Metal Servers (seed: bms-add-tags.txt). */
export const bms = defineService({
  id: 'bms',
  title: 'Bare Metal Server',
  resourceType: 'bms_server',
  resourceNoun: 'BMS',
  resourceParam: 'server_id',
  maxTags: 20,
  envelope: 'nested',
  errors: [
    {
      code: 'BMS.0001',
      status: 400,
      when: 'The body cannot be parsed or is not an object.',
      kinds: ['body_malformed'],
    },
    {
      code: 'BMS.0022',
      status: 400,
      when: 'Invalid action, invalid or duplicate tag, or too many tags.',
      kinds: [
        'action_invalid',
        'tag_malformed',
        'key_missing',
        'key_empty',
        'key_type',
        'key_too_long',
        'key_invalid',
        'value_missing',
        'value_type',
        'value_too_long',
        'value_invalid',
        'duplicate_key',
        'too_many_tags',
        'too_many_in_request',
      ],
    },
    {
      code: 'BMS.0040',
      status: 400,
      when: 'The server does not exist in this project.',
      kinds: ['resource_not_found'],
    },
    {
      code: 'BMS.0033',
      status: 403,
      when: "Not allowed: the project is not the caller's, or a policy refuses the action.",
      kinds: ['forbidden', 'scope_project', 'scope_domain'],
    },
  ],
  internalError: { code: 'BMS.0002' },
  create: { rules: createRules, onExisting: 'overwrite' },
  delete: { rules: deleteRules, onAbsent: 'ignore' },
  authorization: 'policy',
  demoResource: { name: 'web-1', tags: [{ key: 'env', value: 'dev' }] },
  permissions: {
    create: { action: 'bms:servers:batchCreateBaremetalServerTags', requires: ['bms:servers:put'] },
    delete: { action: 'bms:servers:batchDeleteBaremetalServerTags', requires: ['bms:servers:put'] },
    list: { action: 'bms:servers:showBaremetalServerTags', requires: ['bms:servers:get'] },
  },
  routes: [
    {
      operationId: 'BatchBaremetalServerTagsAction',
      method: 'POST',
      path: `${base}/action`,
      kind: 'batch-action',
      success: 'no-content',
      summary: 'Add (action "create") or delete (action "delete") tags of a BMS in a batch',
    },
    {
      operationId: 'ShowBaremetalServerTags',
      method: 'GET',
      path: base,
      kind: 'list',
      summary: 'List the tags of a BMS',
      companion: true,
    },
  ],
});
