import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import { CTS_ROUTE, cts } from '../services/cts.js';
import {
  type ErrorRow,
  type Permission,
  type PermissionName,
  type RouteErrors,
  routePermissionNames,
  type ServiceProfile,
} from '../services/profile.js';
import { TMS_ROUTES, tms } from '../services/tms.js';
import { GATEWAY_ERRORS } from './gateway-errors.js';

/** Identity-policy actions of every operation, by operation id. */
export function actionTable(profiles: readonly ServiceProfile[]) {
  const rows: { service: string; operationId: string; action: string; requires: string[] }[] = [];
  for (const p of profiles) {
    for (const r of p.routes) {
      for (const n of routePermissionNames(r)) {
        const perm = p.permissions[n];
        if (perm) {
          rows.push({
            service: p.title,
            operationId:
              r.kind === 'batch-action' ? `${r.operationId} (action "${n}")` : r.operationId,
            action: perm.action,
            requires: [...(perm.requires ?? [])],
          });
        }
      }
    }
  }
  for (const r of TMS_ROUTES) {
    const perm = tms.permissions[r.op];
    rows.push({
      service: tms.title,
      operationId: r.operationId,
      action: perm.action,
      requires: [...(perm.requires ?? [])],
    });
  }
  rows.push({
    service: cts.title,
    operationId: CTS_ROUTE.operationId,
    action: cts.permission.action,
    requires: [],
  });
  return rows;
}

function toOpenApiPath(path: string): string {
  return path.replace(/:([A-Za-z_]+)/g, '{$1}');
}

const OPERATION_NAMES: Record<PermissionName, string> = {
  create: 'add tags',
  delete: 'delete tags',
  list: "list a resource's tags",
  projectTags: "list the project's tag keys and values",
  query: 'query resources by tag',
  quota: "show a resource's tag quota",
  switchStatus: "show whether a resource's default tags are on",
  switch: "switch a resource's default tags on or off",
};

const TMS_OPERATION_NAMES: Record<(typeof TMS_ROUTES)[number]['op'], string> = {
  batchCreate: "add tags to resources of any types (and each resource's own create action)",
  batchDelete: "delete tags from resources of any types (and each resource's own delete action)",
  filter: 'find resources of several types by tag (of those whose own list action is granted)',
  tagKeys: "list the project's tag keys (of resources whose own list action is granted)",
  tagValues: "list a tag key's values (of resources whose own list action is granted)",
  providers: 'list the resource types',
};

/** Every identity-policy action of every service and of the cross-service API. */
export function permissionTable(profiles: readonly ServiceProfile[]) {
  return [
    ...profiles.flatMap((p) =>
      (Object.entries(p.permissions) as [PermissionName, Permission][]).map(([name, perm]) => ({
        service: p.title,
        operation: OPERATION_NAMES[name],
        action: perm.action,
        requires: [...(perm.requires ?? [])],
        checked: p.authorization === 'policy',
      })),
    ),
    ...TMS_ROUTES.map((r) => ({
      service: tms.title,
      operation: TMS_OPERATION_NAMES[r.op],
      action: tms.permissions[r.op].action,
      requires: [...(tms.permissions[r.op].requires ?? [])],
      checked: true,
    })),
    {
      service: cts.title,
      operation: "list the project's tag changes as traces",
      action: cts.permission.action,
      requires: [],
      checked: true,
    },
  ];
}

function actionsMarkdown(profiles: readonly ServiceProfile[]): string {
  const rows = permissionTable(profiles).map(
    (r) =>
      `| ${r.service} | ${r.operation} | \`${r.action}\`${r.checked ? '' : ' (not checked)'} | ${r.requires.map((x) => `\`${x}\``).join(', ')} |`,
  );
  return ['| Service | Operation | Action | Also requires |', '|---|---|---|---|', ...rows].join(
    '\n',
  );
}

function description(profiles: readonly ServiceProfile[]): string {
  return `Wire-compatible resource-tag APIs of five Huawei Cloud / Open Telekom Cloud services over one central tag store.

## Authentication

An \`X-Auth-Token\` from \`POST /v3/auth/tokens\`, or an AK/SK signature: \`SDK-HMAC-SHA256\` or \`V11-HMAC-SHA256\` (HKDF-derived key), with \`X-Sdk-Date\` within 15 minutes of the server clock, as the official SDKs compute them. Missing or bad credentials answer 401 \`APIG.0301\` in the gateway envelope \`{"error_code","error_msg","request_id"}\`, saying what is wrong. Every response carries \`X-Request-Id\`.

After more than 5 consecutive signature failures of one access key (the sixth bad signature), the key is locked for 5 minutes: every request signed with it answers 401 \`APIG.0301\` "Incorrect IAM authentication information: AK access failed to reach the limit,forbidden.", even when correctly signed; a good signature before that resets the count (server flag \`--aksk-lockout FAILURES/LOCK_MIN\`). \`POST /v3/auth/tokens\` answers a wrong user name or password with 401 \`{"error":{"code":401,"message":"The username or password is wrong.","title":"Unauthorized"}}\`, whether or not the user exists; after 5 failures of one user within 15 minutes the user is locked for 15 minutes: 401 "The account is locked." whatever the password (server flag \`--login-lockout ATTEMPTS/WINDOW_MIN/LOCK_MIN\`). Both lockouts hold across nodes.

## Authorisation

A domain's root user may do everything in its domain. An IAM user needs its identity policies to allow the operation's action and every action it depends on: statements \`{"Effect":"Allow"|"Deny","Action":[…],"Resource":["*"],"Condition":{…}}\`; \`*\` wildcards in actions; an explicit Deny wins; default deny. Conditions: \`StringEquals\`, \`StringNotEquals\`, \`StringLike\`, \`StringNotLike\`, \`Null\`, with \`ForAllValues:\`/\`ForAnyValue:\`; keys \`g:ResourceTag/<key>\`, \`g:RequestTag/<key>\`, \`g:TagKeys\`, \`g:EnterpriseProjectId\`. A policy's refusal answers in the service's own envelope with its code, naming the action (MRS: 401 \`12000136\`; the others 403). A project other than the token's, or outside the caller's domain, gets the service's scope refusal (AS 400 \`AS.0008\`, MRS 400 \`12000052\`, ModelArts 403 \`ModelArts.0210\` / \`ModelArts.0108\`, BMS and DDM their 403). A write of one tag (MRS add or delete one, DDM set one) needs the action of its service's batch create or delete. Reads of many resources (\`resource_instances/action\`, the project tag listings, the cross-service filter, tag keys and values) return, count and list the tags of only the resources on which the caller's policies grant both the route's action and the resource's own service's list action, decided with that resource's tags and enterprise project; totals are exact. Each operation lists its actions in \`x-iam-actions\`; operations of ModelArts Lite Server supernodes need no permission (\`x-iam-permission-required: false\`).

## Finding resources, and the cross-service API

AS and MRS find resources by tag (\`resource_instances/action\`, actions \`filter\` and \`count\`); AS, MRS and DDM list a project's tags. The cross-service API (\`/v1.0\`, TMS-style, errors \`{"error_code":"TMS.XXXX","error_msg"}\`) tags up to 50 resources of any types in one call — each under its own service's rules and permission, reporting that service's error code per resource — finds resources across types, and lists tag keys and values; it accepts domain-scoped tokens.

${actionsMarkdown(profiles)}

## Errors

${errorsMarkdown(profiles)}`;
}

/** Each service's error table, and the gateway's, as the code applies them. */
function errorsMarkdown(profiles: readonly ServiceProfile[]): string {
  const row = (r: ErrorRow, where = '') =>
    `| \`${r.code}\` | ${r.status} | ${where}${r.when}${r.message ? ` Message: "${r.message}"` : ''} |`;
  const tables = [...profiles, tms, cts].map((p) => {
    // Routes with codes of their own (MRS API v2), once per catalogue.
    const own = new Map<string, RouteErrors>();
    if ('routes' in p) for (const r of p.routes) if (r.errors) own.set(r.errors.id, r.errors);
    const routeRows = [...own.values()].flatMap((c) =>
      c.errors.map((r) => row(r, `Routes ${c.id}: `)),
    );
    const rows = [
      ...p.errors.map((r) => row(r)),
      ...routeRows,
      `| \`${p.internalError.code}\` | 500 | An unexpected failure${p.internalError.message ? `: "${p.internalError.message}"` : ''}; the details go to the log with the request id. |`,
    ];
    return [`### ${p.title}`, '', '| Code | Status | When |', '|---|---|---|', ...rows].join('\n');
  });
  const gateway = Object.values(GATEWAY_ERRORS).map(
    (e) => `| \`${e.code}\` | ${e.status} | ${e.message} |`,
  );
  return [
    ...tables,
    [
      '### Gateway (`{"error_code","error_msg","request_id"}`)',
      '',
      'Store faults are answered here, never 500: 502 when the store cannot be reached or written, 504 when a statement or query runs past its time limit (`--query-timeout`, default 10 s; the query is stopped). A write is never half-done: it did not happen, or (a connection lost during its commit) it happened whole. A request whose headers and body have not arrived within 30 s (`--request-timeout`) is answered 408 and its connection closed; a connection idle for 75 s (`--idle-timeout`) is closed.',
      '',
      '| Code | Status | Message |',
      '|---|---|---|',
      ...gateway,
    ].join('\n'),
  ].join('\n\n');
}

export function openApiDocument(profiles: readonly ServiceProfile[]): FastifyDynamicSwaggerOptions {
  const table = actionTable(profiles);
  return {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'tagplane', version: '0.1.0', description: description(profiles) },
      components: {
        securitySchemes: {
          token: { type: 'apiKey', in: 'header', name: 'X-Auth-Token' },
          aksk: {
            type: 'apiKey',
            in: 'header',
            name: 'Authorization',
            description:
              'SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<names>, Signature=<hex>, or V11-HMAC-SHA256 Credential=<AK>/<YYYYMMDD>/<region>/<service>, SignedHeaders=<names>, Signature=<hex>; with X-Sdk-Date.',
          },
          admin: { type: 'http', scheme: 'bearer', description: 'The admin token.' },
        },
      },
    },
    hiddenTag: 'hidden',
    transformObject: (doc) => {
      const api = ('openapiObject' in doc ? doc.openapiObject : doc.swaggerObject) as {
        paths?: Record<string, Record<string, Record<string, unknown>>>;
      };
      const routes = [
        ...profiles.flatMap((p) =>
          p.routes.map((r) => ({ service: p.title, authorization: p.authorization, ...r })),
        ),
        ...TMS_ROUTES.map((r) => ({ service: tms.title, authorization: tms.authorization, ...r })),
        { service: cts.title, authorization: cts.authorization, ...CTS_ROUTE },
      ];
      for (const r of routes) {
        const op = api.paths?.[toOpenApiPath(r.path)]?.[r.method.toLowerCase()];
        if (!op) continue;
        op['x-iam-actions'] = table
          .filter(
            (row) => row.operationId.split(' ')[0] === r.operationId && row.service === r.service,
          )
          .map((row) => ({ action: row.action, requires: row.requires }));
        if (r.authorization === 'none') op['x-iam-permission-required'] = false;
      }
      // The swagger plugin names a HEAD twin `<GET operationId>-head`; Keystone calls it so.
      const check = api.paths?.['/v3/auth/tokens']?.head;
      if (check) {
        check.operationId = 'KeystoneCheckToken';
        check.summary = 'Check the token in X-Subject-Token: 200 without a body, or 404';
      }
      return api as ReturnType<NonNullable<FastifyDynamicSwaggerOptions['transformObject']>>;
    },
  };
}
