import { AppError } from '../core/app-error.js';
import type { Principal } from '../core/principal.js';
import type { ResourceRecord } from '../core/resource.js';
import { ALWAYS, NEVER, type ResourceCondition } from '../core/resource-condition.js';
import type { Tag } from '../core/tag.js';
import type { ApiIdentity, Permission } from '../services/profile.js';

/** Everything a decision may depend on. */
export interface AccessRequest {
  readonly principal: Principal;
  /** The API the operation belongs to: a service profile, or the cross-service API. */
  readonly profile: ApiIdentity;
  readonly permission: Permission;
  readonly resource?: ResourceRecord;
  /** The resource's tags before the change (`g:ResourceTag/<key>`). */
  readonly resourceTags?: readonly Tag[];
  /**
   * The tags the request names (`g:RequestTag/<key>`, `g:TagKeys`). A tag named without a value
   * (a delete by key) stands for the resource's tag under that key.
   */
  readonly requestTags?: readonly { key: string; value?: string }[];
}

/** The early check: before the request body is read, without the resource. */
export interface PrecheckRequest {
  readonly principal: Principal;
  readonly profile: ApiIdentity;
  /** The permissions the call may need; it is refused when none of them can be granted. */
  readonly permissions: readonly Permission[];
}

/** A permission asked of every resource a read returns or counts. */
export interface ReadRequest {
  readonly principal: Principal;
  readonly profile: ApiIdentity;
  readonly permission: Permission;
}

export interface Authorizer {
  /** Throws a `forbidden` AppError naming the denied action, or returns. */
  authorize(req: AccessRequest): void;
  /**
   * Throws a `forbidden` AppError when no request context could make any of the permissions
   * granted (no policy allows the action, or one denies it unconditionally), so such a caller
   * is refused before its body is validated. Passing it decides nothing: `authorize` still runs
   * with the resource and the tags.
   */
  precheck?(req: PrecheckRequest): void;
  /**
   * The resources on which `authorize` would grant the permission, as a condition on a
   * resource's tags, enterprise project and type: a read of many resources returns and counts
   * only those. `never` when it is granted on none.
   */
  grantedWhere(req: ReadRequest): ResourceCondition;
}

export function deny(principal: Principal, action: string): AppError {
  return new AppError(
    'forbidden',
    `User '${principal.userName}' is not authorized to perform ${action} on this resource.`,
    { action },
  );
}

/**
 * A domain's root user may do everything in its domain; operations that need no permission are
 * open to every user of the domain; every other IAM user is denied.
 */
export const rootOnlyAuthorizer: Authorizer = {
  authorize(req) {
    if (req.principal.root || req.profile.authorization === 'none') return;
    throw deny(req.principal, req.permission.action);
  },
  grantedWhere(req) {
    return req.principal.root || req.profile.authorization === 'none' ? ALWAYS : NEVER;
  },
};
