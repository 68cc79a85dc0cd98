import type { AppErrorKind } from '../core/app-error.js';
import type { Tag } from '../core/tag.js';

/**
 * A rule for one tag key or value, as data. Each service profile declares its rules with these
 * fields; tags/text-rule.ts enforces and documents any of them.
 */
export interface TextRule {
  /** Minimum length in Unicode code points. */
  readonly min: number;
  /** Maximum length in Unicode code points. */
  readonly max: number;
  /** When set, every code point must match this single-character pattern (a whitelist). */
  readonly allowed?: RegExp;
  /** Human description of `allowed`, for messages and documentation. */
  readonly allowedText?: string;
  /** Characters that may not appear (a blacklist). */
  readonly forbidden?: string;
  /** ASCII control characters 0–31 are not allowed. */
  readonly noControl?: boolean;
  /** May not start or end with a space. */
  readonly noOuterSpace?: boolean;
  readonly forbiddenPrefixes?: readonly string[];
  readonly forbiddenSuffixes?: readonly string[];
}

/** Rules for the tags of one operation (create or delete). */
export interface TagRules {
  readonly key: TextRule;
  readonly value: TextRule;
  /** An absent `value` is an error (otherwise it means ""). A `null` value is always an error. */
  readonly valueRequired: boolean;
}

/** One row of a service's error table: the code, its status, and when it is used. */
export interface ErrorRow {
  readonly code: string;
  readonly status: number;
  readonly when: string;
  /** The error kinds rendered with this code. The first 400 row also takes every unlisted kind. */
  readonly kinds: readonly AppErrorKind[];
  /**
   * The message, where the service's table fixes it: `{detail}` stands for what went wrong,
   * `{resource_id}` and `{action}` for the resource addressed and the action refused. Without
   * it the message is what went wrong.
   */
  readonly message?: string;
}

/**
 * The shape of error bodies: `flat` is `{"error_code","error_msg"}`, `nested` is
 * `{"error":{"code","message"}}`.
 */
export type Envelope = 'flat' | 'nested';

/** The operations a route can perform; the generic engine implements each once. */
export type OperationKind =
  | 'create'
  | 'delete'
  | 'batch-action'
  | 'set-one'
  | 'add-one'
  | 'delete-one'
  | 'list'
  | 'project-tags'
  | 'query'
  /** How many tags the resource may have and how many more it can take. */
  | 'quota'
  /** Whether the route's resource switch is on. */
  | 'switch-status'
  /** Turns the route's resource switch on (`{"action":"create"}`) or off (`"delete"`). */
  | 'switch';

/** How a successful write answers. */
export type SuccessShape =
  /** 200 with `{"tags":[…the tags written…]}` */
  | 'tags'
  /** 204, no body */
  | 'no-content'
  /** 200 with an empty body */
  | 'empty'
  /** 202, no body: the change is accepted (the real service applies it asynchronously) */
  | 'accepted';

/** Operations over a project's resources of the profile's type rather than over one resource. */
export const PROJECT_OPERATIONS: readonly OperationKind[] = ['project-tags', 'query'];

/**
 * A per-resource on/off setting that is not a tag, kept in the store with the resource (MRS: a
 * cluster's default tags). Off until switched on.
 */
export interface ResourceSwitch {
  /** The resource attribute it is stored under. */
  readonly attribute: string;
  /** The field of the status answer that says whether it is on. */
  readonly field: string;
}

/**
 * A route's own error codes, where its API version answers differently from the rest of its
 * service (MRS API v2). A kind listed here is answered with its row; any other kind as the
 * service answers it (the caller's scope and permissions are refused alike by every version).
 */
export interface RouteErrors {
  readonly id: string;
  readonly envelope: Envelope;
  /** The first 400 row also takes every kind neither these rows nor the service list. */
  readonly errors: readonly ErrorRow[];
}

export interface RouteDef {
  readonly operationId: string;
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /**
   * Fastify path; `:project_id` is always present, and so is the profile's resource parameter
   * except on project operations (`project-tags`, `query`).
   */
  readonly path: string;
  readonly kind: OperationKind;
  readonly summary: string;
  /** Success answer of write operations. */
  readonly success?: SuccessShape;
  /** Marked "[doc]" companions: documented outside the seed page. */
  readonly companion?: boolean;
  /** The route's own error codes, where they differ from its service's. */
  readonly errors?: RouteErrors;
  /** The setting `switch-status` and `switch` routes read and write. */
  readonly switch?: ResourceSwitch;
  /** Query parameters the route reads, with their documentation (beyond paging). */
  readonly query?: Readonly<Record<string, QueryParam>>;
}

/** A query parameter of a route. */
export interface QueryParam {
  readonly type: 'boolean';
  readonly description: string;
}

/** A permission an operation needs, with the actions it depends on. */
export interface Permission {
  readonly action: string;
  readonly requires?: readonly string[];
}

export type PermissionName =
  | 'create'
  | 'delete'
  | 'list'
  | 'projectTags'
  | 'query'
  | 'quota'
  | 'switchStatus'
  | 'switch';

/**
 * The permissions a route's operation may need (a batch route: either of create and delete). A
 * write of one tag needs what the batch create or delete needs: the same action, under the same
 * conditions, so that no route writes what a policy denies the batch.
 */
export function routePermissionNames(route: Pick<RouteDef, 'kind'>): PermissionName[] {
  switch (route.kind) {
    case 'batch-action':
      return ['create', 'delete'];
    case 'set-one':
    case 'add-one':
      return ['create'];
    case 'delete-one':
      return ['delete'];
    case 'project-tags':
      return ['projectTags'];
    case 'switch-status':
      return ['switchStatus'];
    default:
      return [route.kind];
  }
}

/** What an authorization decision needs to know of the API an operation belongs to. */
export interface ApiIdentity {
  readonly id: string;
  readonly title: string;
  /** `policy`: IAM users need the permission; `none`: any user of the domain may call. */
  readonly authorization: 'policy' | 'none';
}

/** An API's error table and envelope: what its error renderer needs. */
export interface ErrorCatalogue {
  readonly id: string;
  readonly envelope: Envelope;
  readonly errors: readonly ErrorRow[];
  /**
   * Code (and the message, where the service's table fixes one) of unexpected failures in this
   * API's envelope (status 500).
   */
  readonly internalError: { readonly code: string; readonly message?: string };
}

/** How `resource_instances/action` answers, where the services differ. */
export interface QueryProfile {
  /** `resource_detail` of every resource in a filter answer. */
  readonly resourceDetail: string | null;
  /**
   * The answer carries `marker`, the index position of the next page, and a request's `marker`
   * stands for its `offset` when `offset` is absent (AS).
   */
  readonly marker: boolean;
  /** Longest `matches` value, in characters. */
  readonly matchValueMax: number;
}

/** A resource of the profile's type for the demo a new database starts with (admin/demo.ts). */
export interface DemoResource {
  readonly name: string;
  readonly tags: readonly Tag[];
  /** A fresh resource id of the service's own form; a random UUID when absent. */
  readonly newId?: () => string;
}

/** How the project tag listing pages. */
export interface ProjectTagsProfile {
  /** `offset`/`limit` query parameters and `offset`, `limit`, `total_count` in the answer (DDM). */
  readonly paging?: { readonly defaultLimit: number; readonly maxLimit: number };
}

/**
 * One service: its routes, rules, limits, answers and error codes, as data the generic engine
 * applies. Written with `defineService` (profile-check.ts), listed in registry.ts. `Type` is the
 * literal resource type, from which the registry derives the `ResourceType` union.
 */
export interface ServiceProfile<Type extends string = string> extends ApiIdentity, ErrorCatalogue {
  /** The resource type in the central store (`bms_server`): lower case, digits and `_`. */
  readonly resourceType: Type;
  /** Noun used in messages, e.g. "BMS" or "scaling group". */
  readonly resourceNoun: string;
  /** Name of the resource id path parameter. */
  readonly resourceParam: string;
  /** Fixed path parameters and the one value each accepts (AS: resource_type=scaling_group_tag). */
  readonly fixedParams?: Readonly<Record<string, string>>;
  readonly maxTags: number;
  readonly create: {
    readonly rules: TagRules;
    /** `overwrite`: an existing key takes the new value; `reject`: an existing key is an error. */
    readonly onExisting: 'overwrite' | 'reject';
  };
  readonly delete: {
    readonly rules: TagRules;
    /** `ignore`: deleting an absent tag succeeds; `reject`: it is an error. */
    readonly onAbsent: 'ignore' | 'reject';
  };
  /** Accepted request Content-Types for bodies; anything else is refused (415). */
  readonly bodyContentTypes?: readonly string[];
  /** Extra fields of the single-resource tag listing (AS: `sys_tags`). */
  readonly listExtras?: Readonly<Record<string, unknown>>;
  /** Set when the service has a `query` route. */
  readonly query?: QueryProfile;
  /** Set when the service has a `project-tags` route. */
  readonly projectTags?: ProjectTagsProfile;
  /** The resource of this type a new database's demo starts with. */
  readonly demoResource: DemoResource;
  readonly permissions: Readonly<Partial<Record<PermissionName, Permission>>>;
  readonly routes: readonly RouteDef[];
}
