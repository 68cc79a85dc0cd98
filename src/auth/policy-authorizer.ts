import { AppError } from '../core/app-error.js';
import type { Principal } from '../core/principal.js';
import { ALWAYS, type ResourceCondition } from '../core/resource-condition.js';
import type { Permission } from '../services/profile.js';
import type { AccessRequest, Authorizer, PrecheckRequest, ReadRequest } from './authorizer.js';
import { grantedWhere } from './policy-conditions.js';
import {
  type CompiledPolicies,
  compilePolicies,
  evaluate,
  PolicyError,
  possibility,
  type RequestContext,
} from './policy-evaluator.js';

/** The actions one permission needs: its own and those it depends on (BMS: `bms:servers:put`). */
function actionsOf(p: Permission): string[] {
  return [p.action, ...(p.requires ?? [])];
}

function exempt(principal: Principal, req: { profile: { authorization: string } }): boolean {
  return principal.root || req.profile.authorization === 'none';
}

/**
 * A refusal naming what was refused and why; `action` is the bare action refused, when there
 * is one.
 */
function forbidden(principal: Principal, what: string, why: string, action?: string): AppError {
  return new AppError(
    'forbidden',
    `User '${principal.userName}' is not authorized to perform ${what}: ${why}.`,
    action !== undefined ? { action } : {},
  );
}

interface Refusal {
  readonly what: string;
  readonly why: string;
  readonly action: string;
}

/** Why a permission can never be granted whatever the context, or undefined if it may be. */
function refusalWithoutContext(
  policies: CompiledPolicies,
  permission: Permission,
): Refusal | undefined {
  for (const action of actionsOf(permission)) {
    const p = possibility(policies, action);
    if (p.outcome === 'denied') {
      return {
        what: describe(action, permission),
        why: `it is explicitly denied by ${p.by}`,
        action,
      };
    }
    if (p.outcome === 'never') {
      return { what: describe(action, permission), why: 'no identity policy allows it', action };
    }
  }
  return undefined;
}

function describe(action: string, permission: Permission): string {
  return action === permission.action
    ? action
    : `${action} (which ${permission.action} depends on)`;
}

/**
 * Identity-policy authorisation. A domain's root user may do everything in its domain, and
 * operations whose profile says `authorization: 'none'` are open to every user of the domain.
 * Any other user needs every action of the permission (the operation's own and its
 * dependencies) allowed by its identity policies, evaluated as policy-evaluator.ts describes.
 *
 * The decision is taken twice: `precheck` before the body is read refuses a caller whom no
 * context could allow; `authorize`, inside the write transaction with the resource and its
 * current tags loaded, decides with the conditions. Reads of many resources ask `grantedWhere`
 * instead: the same decision as a condition on each resource, which the query applies.
 */
export class PolicyAuthorizer implements Authorizer {
  private compiled(principal: Principal): CompiledPolicies {
    try {
      return compilePolicies(principal.policies);
    } catch (err) {
      // Documents are validated when written; one that no longer compiles grants nothing, and
      // its Deny statements must not be lost either: refuse everything until it is fixed.
      if (err instanceof PolicyError) {
        throw forbidden(principal, 'any action', `an attached policy is invalid (${err.message})`);
      }
      throw err;
    }
  }

  precheck(req: PrecheckRequest): void {
    const { principal } = req;
    if (exempt(principal, req) || req.permissions.length === 0) return;
    const policies = this.compiled(principal);
    const refusals: Refusal[] = [];
    for (const permission of req.permissions) {
      const refusal = refusalWithoutContext(policies, permission);
      if (refusal === undefined) return;
      refusals.push(refusal);
    }
    if (refusals.length === 1) {
      const r = refusals[0]!;
      throw forbidden(principal, r.what, r.why, r.action);
    }
    throw forbidden(
      principal,
      req.permissions.map((p) => p.action).join(' or '),
      refusals.map((r) => `${r.what}: ${r.why}`).join('; '),
      refusals.map((r) => r.action).join(' or '),
    );
  }

  grantedWhere(req: ReadRequest): ResourceCondition {
    if (exempt(req.principal, req)) return ALWAYS;
    return grantedWhere(this.compiled(req.principal), actionsOf(req.permission));
  }

  authorize(req: AccessRequest): void {
    const { principal, permission } = req;
    if (exempt(principal, req)) return;
    const policies = this.compiled(principal);
    const ctx = contextOf(req);
    for (const action of actionsOf(permission)) {
      const d = evaluate(policies, action, ctx);
      if (d.allowed) continue;
      const target = req.resource ? ` on ${req.resource.type} '${req.resource.resourceId}'` : '';
      throw forbidden(
        principal,
        `${describe(action, permission)}${target}`,
        d.explicit ? `it is explicitly denied by ${d.by}` : 'no identity policy allows it',
        action,
      );
    }
  }
}

/** The condition-key values of a request. */
export function contextOf(req: AccessRequest): RequestContext {
  const resourceTags = new Map((req.resourceTags ?? []).map((t) => [t.key, t.value]));
  const requestTags = new Map<string, string>();
  const tagKeys: string[] = [];
  for (const t of req.requestTags ?? []) {
    if (!tagKeys.includes(t.key)) tagKeys.push(t.key);
    const value = t.value ?? resourceTags.get(t.key);
    if (value !== undefined) requestTags.set(t.key, value);
  }
  return {
    resourceTags,
    requestTags,
    tagKeys,
    ...(req.resource ? { enterpriseProjectId: req.resource.enterpriseProjectId } : {}),
  };
}
