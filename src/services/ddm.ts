import { randomBytes } from 'node:crypto';
import type { TagRules } from './profile.js';
import { defineService } from './profile-check.js';

const createRules: TagRules = {
  key: {
    min: 1,
    max: 36,
    noControl: true,
    forbidden: '*<>\\,|/',
    noOuterSpace: true,
    forbiddenPrefixes: ['_sys_'],
  },
  value: { min: 0, max: 43, noControl: true, forbidden: '*<>\\,|' },
  // Mandatory in the documentation, with "" as its default: absent is accepted.
  valueRequired: false,
};

// Keys and values to delete are checked with the create rules (API reference, Deleting Tags
// from an Instance).
const deleteRules: TagRules = createRules;

const instances = '/v3/:project_id/instances';
const base = `${instances}/:instance_id/tags`;

/** DDM instances, V3 API (seed: ddm-v3-add-tags.txt). */
export const ddm = defineService({
  id: 'ddm',
  title: 'Distributed Database Middleware',
  resourceType: 'ddm_instance',
  resourceNoun: 'DDM instance',
  resourceParam: 'instance_id',
  maxTags: 20,
  envelope: 'flat',
  errors: [
    {
      code: 'DBS.280001',
      status: 400,
      when: 'Any parameter error: malformed body, bad or duplicate key, too many tags.',
      kinds: [],
    },
    {
      code: 'DBS.200002',
      status: 400,
      when: 'The instance does not exist.',
      kinds: ['resource_not_found'],
    },
    {
      code: 'DBS.280415',
      status: 415,
      when: 'The Content-Type is not application/json or application/json;charset=utf-8.',
      kinds: ['media_type'],
    },
    {
      code: 'DBS.200003',
      status: 403,
      when: "Not allowed: the project is not the caller's, or a policy refuses the action.",
      kinds: ['forbidden', 'scope_project', 'scope_domain'],
    },
  ],
  internalError: { code: 'DBS.200001' },
  create: { rules: createRules, onExisting: 'overwrite' },
  delete: { rules: deleteRules, onAbsent: 'ignore' },
  bodyContentTypes: ['application/json', 'application/json;charset=utf-8'],
  projectTags: { paging: { defaultLimit: 10, maxLimit: 128 } },
  authorization: 'policy',
  demoResource: {
    name: 'orders-ddm',
    tags: [{ key: 'env', value: 'dev' }],
    // DDM instance ids are 32 hex digits and 'in09'.
    newId: () => `${randomBytes(16).toString('hex')}in09`,
  },
  permissions: {
    create: { action: 'ddm:instance:createTags' },
    delete: { action: 'ddm:instance:deleteTags' },
    list: { action: 'ddm:instance:listTags' },
    projectTags: { action: 'ddm:instance:listProjectTags' },
  },
  routes: [
    {
      operationId: 'CreateDdmInstanceTags',
      method: 'POST',
      path: `${base}/create`,
      kind: 'create',
      success: 'empty',
      summary: 'Add tags to a DDM instance',
    },
    {
      operationId: 'DeleteDdmInstanceTags',
      method: 'POST',
      path: `${base}/delete`,
      kind: 'delete',
      success: 'empty',
      summary: 'Delete tags from a DDM instance',
      companion: true,
    },
    {
      operationId: 'UpdateDdmInstanceTag',
      method: 'PUT',
      path: `${base}/:key`,
      kind: 'set-one',
      success: 'empty',
      summary: 'Set the value of one tag of a DDM instance',
      companion: true,
    },
    {
      operationId: 'ListDdmInstanceTags',
      method: 'GET',
      path: base,
      kind: 'list',
      summary: 'List the tags of a DDM instance',
      companion: true,
    },
    {
      operationId: 'ListProjectTags',
      method: 'GET',
      path: `${instances}/tags`,
      kind: 'project-tags',
      summary: "List the tags of the project's DDM instances, a page of keys at a time",
      companion: true,
    },
  ],
});
