import type { ApiIdentity, ErrorCatalogue, Permission } from './profile.js';

export interface TraceApi extends ApiIdentity, ErrorCatalogue {
  readonly permission: Permission;
  /** Page size of ListTraces. */
  readonly limit: { readonly max: number; readonly fallback: number };
}

/**
 * The Cloud Trace Service v3 ListTraces API (`GET /v3/{project_id}/traces`), answering the
 * project's tag changes as management traces. Codes from the CTS API reference's error table.
 */
export const cts: TraceApi = {
  id: 'cts',
  title: 'Cloud Trace Service',
  envelope: 'flat',
  errors: [
    {
      code: 'CTS.0003',
      status: 400,
      when: 'A query parameter is missing or invalid (trace_type, limit, from, to, next, trace_rating).',
      kinds: ['invalid_parameter'],
    },
    {
      code: 'CTS.0002',
      status: 403,
      when: 'The caller may not list traces: a policy does not allow cts:trace:list.',
      kinds: ['forbidden'],
    },
    {
      code: 'CTS.0012',
      status: 403,
      when: "Invalid project ID: not the token's project, or not in the caller's domain.",
      kinds: ['scope_project', 'scope_domain'],
    },
  ],
  internalError: { code: 'CTS.0005' },
  authorization: 'policy',
  permission: { action: 'cts:trace:list' },
  limit: { max: 200, fallback: 10 },
};

/** The one route of the API. */
export const CTS_ROUTE = {
  method: 'GET',
  path: '/v3/:project_id/traces',
  operationId: 'ListTraces',
} as const;
