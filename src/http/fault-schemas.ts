import { type Static, Type } from 'typebox';
import type { Fault, FaultSpec } from '../admin/faults.js';
import { PROFILES } from '../services/registry.js';
import { tms } from '../services/tms.js';
import { IAM_SERVICE } from './iam-routes.js';
import { compileSchema, type Describe } from './validation.js';

/** The APIs a fault can match: every service, the cross-service API and IAM. */
export const FAULT_SERVICES: readonly string[] = [
  ...PROFILES.map((p) => p.id),
  tms.id,
  IAM_SERVICE,
];

export const MAX_LATENCY_MS = 60_000;
export const MAX_TTL_S = 7 * 24 * 3600;

const Text = (description: string) => Type.String({ minLength: 1, maxLength: 1024, description });

export const FaultMatchSchema = Type.Object(
  {
    service: Type.Optional(
      Type.Unsafe<string>(
        Type.Union(
          FAULT_SERVICES.map((s) => Type.Literal(s)),
          { description: 'The API of the route: a service id, `tms` or `iam`.' },
        ),
      ),
    ),
    operation: Type.Optional(Text("The route's operationId, as in /openapi.json.")),
    method: Type.Optional(
      Type.String({
        pattern: '^(GET|POST|PUT|DELETE|HEAD|get|post|put|delete|head)$',
        description: 'The HTTP method (upper or lower case).',
      }),
    ),
    path_prefix: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        pattern: '^/',
        description: 'The path as sent (without the query) starts with it.',
      }),
    ),
    project_id: Type.Optional(Text('The `project_id` in the path.')),
    resource_id: Type.Optional(
      Text("The resource id in the path (a service route's server, group, cluster … id)."),
    ),
  },
  {
    additionalProperties: false,
    description: 'Every field given must match; `{}` matches every service, TMS and IAM request.',
  },
);

export const FaultErrorSchema = Type.Object(
  {
    status: Type.Integer({ minimum: 400, maximum: 599, description: 'HTTP status, 400–599.' }),
    code: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description:
          "The error code. An `APIG.` code is answered in the gateway envelope, any other in the route's own. Without it, the route's own code for the status: the first row of its service's error table with it (the internal-error code for 500), else the gateway's code for it (401 APIG.0301, 429 APIG.0308, 502 APIG.0202, 504 APIG.0203).",
      }),
    ),
    message: Type.Optional(Text("The message; default: the code's own, or one naming the fault.")),
  },
  { additionalProperties: false },
);

export const FaultBodySchema = Type.Object(
  {
    match: FaultMatchSchema,
    error: Type.Optional(FaultErrorSchema),
    latency_ms: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: MAX_LATENCY_MS,
        description: 'Delay before the request goes on (or the error is answered), 0–60000.',
      }),
    ),
    probability: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1,
        description: 'Chance that a matching request fires the fault, 0–1 (default 1).',
      }),
    ),
    count: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'How many times it fires at most, counted on every node (default unlimited).',
      }),
    ),
    ttl_s: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: MAX_TTL_S,
        description: 'Seconds until it is removed (default: until deleted).',
      }),
    ),
  },
  { additionalProperties: false },
);

const FIELD_MESSAGES: Record<string, string> = {
  match: "'match' must be an object: {} matches every request.",
  'match.service': `'match.service' must be one of ${FAULT_SERVICES.join(', ')}.`,
  'match.operation': "'match.operation' must be an operationId (1–1024 characters).",
  'match.method': "'match.method' must be GET, POST, PUT, DELETE or HEAD.",
  'match.path_prefix': "'match.path_prefix' must be a path starting with '/'.",
  'match.project_id': "'match.project_id' must be a string of 1–1024 characters.",
  'match.resource_id': "'match.resource_id' must be a string of 1–1024 characters.",
  error: "'error' must be an object with 'status' and optional 'code' and 'message'.",
  'error.status': "'error.status' must be an HTTP status, a whole number 400–599.",
  'error.code': "'error.code' must be a string of 1–64 characters.",
  'error.message': "'error.message' must be a string of 1–1024 characters.",
  latency_ms: `'latency_ms' must be a whole number of milliseconds, 0–${MAX_LATENCY_MS}.`,
  probability: "'probability' must be a number from 0 to 1.",
  count: "'count' must be a whole number of at least 1.",
  ttl_s: `'ttl_s' must be a number of seconds above 0 and at most ${MAX_TTL_S}.`,
};

const describeFault: Describe = (f) => {
  const where = f.path.join('.');
  if (f.keyword === 'additionalProperties') {
    const known = Object.keys((f.schema.properties ?? {}) as object);
    return `Unknown field '${where}' (expected: ${known.join(', ')}).`;
  }
  if (f.keyword === 'required' && !where.startsWith('error.')) return `'${where}' is required.`;
  return FIELD_MESSAGES[where] ?? `'${where}' is not valid.`;
};

export const faultBody = compileSchema(FaultBodySchema, { describe: describeFault });

export const faultParams = compileSchema(Type.Object({ id: Type.String() }), {
  describe: () => 'The fault id is not valid.',
});

export const FaultView = Type.Object({
  id: Type.String(),
  match: FaultMatchSchema,
  error: Type.Union([FaultErrorSchema, Type.Null()]),
  latency_ms: Type.Integer(),
  probability: Type.Number(),
  count: Type.Union([Type.Integer(), Type.Null()], { description: 'null: unlimited.' }),
  ttl_s: Type.Union([Type.Number(), Type.Null()], { description: 'null: until deleted.' }),
  fired: Type.Integer({ description: 'How many times it has fired, on every node.' }),
});

export const FaultList = Type.Object({ faults: Type.Array(FaultView) });

/** The domain's fault from a checked body. */
export function faultSpec(b: Static<typeof FaultBodySchema>): FaultSpec {
  const m = b.match;
  return {
    match: {
      ...(m.service !== undefined ? { service: m.service } : {}),
      ...(m.operation !== undefined ? { operation: m.operation } : {}),
      ...(m.method !== undefined ? { method: m.method.toUpperCase() } : {}),
      ...(m.path_prefix !== undefined ? { pathPrefix: m.path_prefix } : {}),
      ...(m.project_id !== undefined ? { projectId: m.project_id } : {}),
      ...(m.resource_id !== undefined ? { resourceId: m.resource_id } : {}),
    },
    ...(b.error !== undefined ? { error: b.error } : {}),
    latencyMs: b.latency_ms ?? 0,
    probability: b.probability ?? 1,
    ...(b.count !== undefined ? { count: b.count } : {}),
    ...(b.ttl_s !== undefined ? { ttlS: b.ttl_s } : {}),
  };
}

export function faultJson(f: Fault): Static<typeof FaultView> {
  const m = f.match;
  return {
    id: f.id,
    match: {
      ...(m.service !== undefined ? { service: m.service } : {}),
      ...(m.operation !== undefined ? { operation: m.operation } : {}),
      ...(m.method !== undefined ? { method: m.method } : {}),
      ...(m.pathPrefix !== undefined ? { path_prefix: m.pathPrefix } : {}),
      ...(m.projectId !== undefined ? { project_id: m.projectId } : {}),
      ...(m.resourceId !== undefined ? { resource_id: m.resourceId } : {}),
    },
    error: f.error ?? null,
    latency_ms: f.latencyMs,
    probability: f.probability,
    count: f.count ?? null,
    ttl_s: f.ttlS ?? null,
    fired: f.fired,
  };
}
