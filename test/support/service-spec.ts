import type { ResourceType } from '../../src/services/registry.js';

/**
 * What SPEC §3 says about each service, written out by hand from SPEC rather than read from
 * src/services: the tests then check the profiles against the contract instead of repeating them.
 */

export type ServiceId = 'modelarts' | 'bms' | 'ddm' | 'as' | 'mrs';

export interface Tag {
  readonly key: string;
  readonly value: string;
}

/** The error code (and status, 400 unless said) a failure of each kind is answered with. */
export interface ErrorCodes {
  /** Body not JSON, not an object. */
  readonly malformed: string;
  /** Body empty or absent. */
  readonly bodyEmpty: string;
  readonly tagsMissing: string;
  /** A `tags` item that is not an object. */
  readonly tagMalformed: string;
  readonly keyMissing: string;
  /** A key that is not a string. */
  readonly keyType: string;
  readonly keyEmpty: string;
  readonly keyTooLong: string;
  readonly keyInvalid: string;
  /** An absent `value` on create, where the service requires one. */
  readonly valueMissing: string;
  readonly valueNull: string;
  /** A value that is not a string (nor null). */
  readonly valueType: string;
  readonly valueTooLong: string;
  readonly valueInvalid: string;
  readonly duplicate: string;
  readonly tooMany: string;
  /** A delete naming a tag the resource lacks, where that is an error. */
  readonly tagAbsent?: string;
  readonly notFound: { readonly status: number; readonly code: string };
  /** A body whose Content-Type the service does not take. */
  readonly mediaType: { readonly status: number; readonly code: string };
}

/** A refusal's status and code. */
export interface Refusal {
  readonly status: number;
  readonly code: string;
}

/** How a service refuses a caller (SPEC §3 tables, §6 scope). */
export interface Refusals {
  /** Credentials scoped to another project (a token of another project, a domain token). */
  readonly project: Refusal;
  /** A project outside the caller's domain. */
  readonly domain: Refusal;
  /** An IAM user whose identity policies refuse the action. */
  readonly policy: Refusal;
}

export interface ServiceSpec {
  readonly id: ServiceId;
  readonly type: ResourceType;
  /** `flat`: `{"error_code","error_msg"}`; `nested`: `{"error":{"code","message"}}`. */
  readonly envelope: 'flat' | 'nested';
  readonly maxTags: number;
  readonly codes: ErrorCodes;
  readonly refusals: Refusals;
  /** Create: an existing key takes the new value (else: the request is refused). */
  readonly overwrites: boolean;
  /** Delete: naming a tag the resource lacks succeeds (else: the request is refused). */
  readonly absentDeleteSucceeds: boolean;
  /** Create: an absent `value` means "" (else: 400). */
  readonly valueOptional: boolean;
  /** Create limits in code points. */
  readonly keyMax: number;
  readonly valueMax: number;
  /** Delete limits in code points. */
  readonly deleteKeyMax: number;
  readonly deleteValueMax: number;
  /** Success of create/delete: status, and whether the body is `{"tags":[…]}` or empty. */
  readonly writeStatus: number;
  readonly writeBody: 'tags' | 'empty';
  /** A key every create rule accepts, used to build valid tags. */
  readonly sampleKey: string;
  readonly listUrl: (project: string, id: string) => string;
  readonly createRequest: (project: string, id: string, tags: unknown) => WriteRequest;
  readonly deleteRequest: (project: string, id: string, tags: unknown) => WriteRequest;
  /** Extra fields of the single-resource listing. */
  readonly listExtras: Readonly<Record<string, unknown>>;
}

export interface WriteRequest {
  readonly method: 'POST' | 'PUT' | 'DELETE';
  readonly url: string;
  readonly body: Record<string, unknown>;
}

/** `{"action":…,"tags":…}` on one URL, as BMS, AS and MRS take it. */
function actionRequests(url: (project: string, id: string) => string) {
  return {
    createRequest: (project: string, id: string, tags: unknown): WriteRequest => ({
      method: 'POST',
      url: url(project, id),
      body: { action: 'create', tags },
    }),
    deleteRequest: (project: string, id: string, tags: unknown): WriteRequest => ({
      method: 'POST',
      url: url(project, id),
      body: { action: 'delete', tags },
    }),
  };
}

const ma = (p: string, id: string) => `/v1/${p}/dev-servers/hyperinstance/${id}/tags`;
const bmsUrl = (p: string, id: string) => `/v1/${p}/baremetalservers/${id}/tags`;
const ddmUrl = (p: string, id: string) => `/v3/${p}/instances/${id}/tags`;
const asUrl = (p: string, id: string) => `/autoscaling-api/v1/${p}/scaling_group_tag/${id}/tags`;
const mrsUrl = (p: string, id: string) => `/v1.1/${p}/clusters/${id}/tags`;

const allCodes = (code: string, notFound: ErrorCodes['notFound']): ErrorCodes => ({
  malformed: code,
  bodyEmpty: code,
  tagsMissing: code,
  tagMalformed: code,
  keyMissing: code,
  keyType: code,
  keyEmpty: code,
  keyTooLong: code,
  keyInvalid: code,
  valueMissing: code,
  valueNull: code,
  valueType: code,
  valueTooLong: code,
  valueInvalid: code,
  duplicate: code,
  tooMany: code,
  notFound,
  mediaType: { status: 400, code },
});

export const MODELARTS: ServiceSpec = {
  id: 'modelarts',
  type: 'modelarts_hyperinstance',
  envelope: 'flat',
  maxTags: 20,
  // Every tag error is ModelArts.0101 "Invalid Argument"; an unknown supernode ModelArts.6404.
  codes: {
    ...allCodes('ModelArts.0101', { status: 400, code: 'ModelArts.6404' }),
    tagAbsent: 'ModelArts.0101',
  },
  refusals: {
    project: { status: 403, code: 'ModelArts.0210' },
    domain: { status: 403, code: 'ModelArts.0108' },
    // No permission is needed (the seed): a policy never refuses; the code would be 0108.
    policy: { status: 403, code: 'ModelArts.0108' },
  },
  overwrites: false,
  absentDeleteSucceeds: false,
  valueOptional: false,
  keyMax: 128,
  valueMax: 255,
  deleteKeyMax: 128,
  deleteValueMax: 255,
  writeStatus: 200,
  writeBody: 'tags',
  sampleKey: 'k',
  listUrl: ma,
  createRequest: (p, id, tags) => ({ method: 'POST', url: `${ma(p, id)}/create`, body: { tags } }),
  deleteRequest: (p, id, tags) => ({ method: 'POST', url: `${ma(p, id)}/delete`, body: { tags } }),
  listExtras: {},
};

export const BMS: ServiceSpec = {
  id: 'bms',
  type: 'bms_server',
  envelope: 'nested',
  maxTags: 20,
  codes: {
    ...allCodes('BMS.0022', { status: 400, code: 'BMS.0040' }),
    // The first 400 row is the generic code of everything not given its own.
    malformed: 'BMS.0001',
    bodyEmpty: 'BMS.0001',
    tagsMissing: 'BMS.0001',
    mediaType: { status: 400, code: 'BMS.0001' },
  },
  refusals: {
    project: { status: 403, code: 'BMS.0033' },
    domain: { status: 403, code: 'BMS.0033' },
    policy: { status: 403, code: 'BMS.0033' },
  },
  overwrites: true,
  absentDeleteSucceeds: true,
  valueOptional: true,
  keyMax: 36,
  valueMax: 43,
  deleteKeyMax: 36,
  deleteValueMax: 43,
  writeStatus: 204,
  writeBody: 'empty',
  sampleKey: 'k',
  listUrl: bmsUrl,
  ...actionRequests((p, id) => `${bmsUrl(p, id)}/action`),
  listExtras: {},
};

export const DDM: ServiceSpec = {
  id: 'ddm',
  type: 'ddm_instance',
  envelope: 'flat',
  maxTags: 20,
  codes: {
    ...allCodes('DBS.280001', { status: 400, code: 'DBS.200002' }),
    mediaType: { status: 415, code: 'DBS.280415' },
  },
  refusals: {
    project: { status: 403, code: 'DBS.200003' },
    domain: { status: 403, code: 'DBS.200003' },
    policy: { status: 403, code: 'DBS.200003' },
  },
  overwrites: true,
  absentDeleteSucceeds: true,
  valueOptional: true,
  keyMax: 36,
  valueMax: 43,
  deleteKeyMax: 36,
  deleteValueMax: 43,
  writeStatus: 200,
  writeBody: 'empty',
  sampleKey: 'k',
  listUrl: ddmUrl,
  createRequest: (p, id, tags) => ({
    method: 'POST',
    url: `${ddmUrl(p, id)}/create`,
    body: { tags },
  }),
  deleteRequest: (p, id, tags) => ({
    method: 'POST',
    url: `${ddmUrl(p, id)}/delete`,
    body: { tags },
  }),
  listExtras: {},
};

export const AS: ServiceSpec = {
  id: 'as',
  type: 'as_group',
  envelope: 'nested',
  maxTags: 10,
  codes: {
    malformed: 'AS.0022',
    bodyEmpty: 'AS.0002',
    tagsMissing: 'AS.7044',
    tagMalformed: 'AS.0022',
    keyMissing: 'AS.7062',
    keyType: 'AS.0022',
    keyEmpty: 'AS.7062',
    keyTooLong: 'AS.7063',
    keyInvalid: 'AS.7046',
    valueMissing: 'AS.0022',
    valueNull: 'AS.0022',
    valueType: 'AS.0022',
    valueTooLong: 'AS.7047',
    valueInvalid: 'AS.7047',
    duplicate: 'AS.7050',
    tooMany: 'AS.7045',
    notFound: { status: 400, code: 'AS.2007' },
    mediaType: { status: 400, code: 'AS.0022' },
  },
  refusals: {
    project: { status: 400, code: 'AS.0008' },
    domain: { status: 400, code: 'AS.0008' },
    policy: { status: 403, code: 'AS.0011' },
  },
  overwrites: true,
  absentDeleteSucceeds: true,
  valueOptional: true,
  keyMax: 36,
  valueMax: 43,
  deleteKeyMax: 127,
  deleteValueMax: 255,
  writeStatus: 204,
  writeBody: 'empty',
  sampleKey: 'k',
  listUrl: asUrl,
  ...actionRequests((p, id) => `${asUrl(p, id)}/action`),
  listExtras: { sys_tags: [] },
};

export const MRS: ServiceSpec = {
  id: 'mrs',
  type: 'mrs_cluster',
  envelope: 'flat',
  maxTags: 10,
  codes: {
    ...allCodes('12000002', { status: 400, code: '12000003' }),
    keyEmpty: '12005002',
    keyTooLong: '12005002',
    keyInvalid: '12005002',
    valueTooLong: '12005002',
    valueInvalid: '12005002',
    duplicate: '12005002',
    tooMany: '12005001',
  },
  refusals: {
    project: { status: 400, code: '12000052' },
    domain: { status: 400, code: '12000052' },
    policy: { status: 401, code: '12000136' },
  },
  overwrites: true,
  absentDeleteSucceeds: true,
  valueOptional: true,
  keyMax: 36,
  valueMax: 43,
  deleteKeyMax: 36,
  deleteValueMax: 43,
  writeStatus: 204,
  writeBody: 'empty',
  sampleKey: 'k',
  listUrl: mrsUrl,
  ...actionRequests((p, id) => `${mrsUrl(p, id)}/action`),
  listExtras: {},
};

export const SERVICE_SPECS: Readonly<Record<ServiceId, ServiceSpec>> = {
  modelarts: MODELARTS,
  bms: BMS,
  ddm: DDM,
  as: AS,
  mrs: MRS,
};

/** `n` distinct tags `${prefix}0…` with values `v0…`, valid for every service. */
export function tagsN(n: number, prefix = 'k'): Tag[] {
  return Array.from({ length: n }, (_, i) => ({ key: `${prefix}${i}`, value: `v${i}` }));
}

/** A fixed order to compare tag lists in (the single-resource listing's order is not part of SPEC). */
export function sortTags(tags: readonly Tag[]): Tag[] {
  return [...tags].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
