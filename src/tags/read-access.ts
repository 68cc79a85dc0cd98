import type { Authorizer } from '../auth/authorizer.js';
import type { Principal } from '../core/principal.js';
import { allOf, NEVER, type ResourceCondition } from '../core/resource-condition.js';
import type { ApiIdentity, Permission, ServiceProfile } from '../services/profile.js';

/**
 * Which resources a read of many resources may return, count or list the tags of (SPEC §6): those
 * on which the caller's policies grant both the route's own action and the read of the
 * resource's tags through its service's list route, each decided with the resource's own tags and
 * enterprise project. The query applies the condition to every resource it reads.
 */

/**
 * Where the route's own permission is granted. A caller granted it on no resource, whatever its
 * tags, is refused as the route refuses without a resource (naming the action).
 */
export function routeGrant(
  authorizer: Authorizer,
  principal: Principal,
  api: ApiIdentity,
  permission: Permission,
): ResourceCondition {
  const where = authorizer.grantedWhere({ principal, profile: api, permission });
  if (where.kind === 'never') authorizer.authorize({ principal, profile: api, permission });
  return where;
}

/** Where, besides the route's grant, the caller may read a resource's tags of this service. */
export function readableWhere(
  authorizer: Authorizer,
  principal: Principal,
  route: ResourceCondition,
  profile: ServiceProfile,
): ResourceCondition {
  const list = profile.permissions.list;
  if (!list) return NEVER;
  return allOf([route, authorizer.grantedWhere({ principal, profile, permission: list })]);
}
