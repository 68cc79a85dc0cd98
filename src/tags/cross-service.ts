import type { Authorizer } from '../auth/authorizer.js';
import { AppError } from '../core/app-error.js';
import type { ChangeOrigin } from '../core/change-event.js';
import type { Principal } from '../core/principal.js';
import { byType, type ResourceCondition } from '../core/resource-condition.js';
import type { Tag, TagSelector } from '../core/tag.js';
import { renderError } from '../services/error-table.js';
import type { ServiceProfile } from '../services/profile.js';
import type { ResourceType } from '../services/registry.js';
import { PROFILES, profileForType } from '../services/registry.js';
import { type CrossServiceOperation, tms } from '../services/tms.js';
import type { Store } from '../store/database.js';
import type { FoundResource, TagPredicate } from '../store/query-store.js';
import { compareCodePoints } from '../store/tag-listing-store.js';
import { readableWhere, routeGrant } from './read-access.js';
import type { TagEngine } from './tag-engine.js';

export interface BatchTarget {
  readonly resourceId: string;
  readonly type: ResourceType;
}

/**
 * What a batch does to each resource: add or remove the request's tags, as `tagsFor` reads them
 * under the resource's service's rules (throwing that service's AppError when they break them).
 */
export type BatchChange =
  | { readonly action: 'create'; readonly tagsFor: (profile: ServiceProfile) => Tag[] }
  | { readonly action: 'delete'; readonly tagsFor: (profile: ServiceProfile) => TagSelector[] };

export interface FailedResource {
  readonly resource_id: string;
  readonly resource_type: string;
  readonly error_code: string;
  readonly error_msg: string;
}

export interface Provider {
  readonly provider: string;
  readonly provider_i18n_display_name: string;
  readonly resource_types: {
    readonly resource_type: ResourceType;
    readonly resource_type_i18n_display_name: string;
    readonly global: boolean;
  }[];
}

/**
 * The cross-service API over the same engine: batches apply each resource's own service rules,
 * limits, permissions and error codes, one resource at a time, so one resource's failure leaves
 * the others applied and itself unchanged.
 */
export class CrossServiceTags {
  constructor(
    private readonly store: Store,
    private readonly engine: TagEngine,
    private readonly authorizer: Authorizer,
  ) {}

  private authorize(principal: Principal, op: CrossServiceOperation): void {
    this.authorizer.authorize({ principal, profile: tms, permission: tms.permissions[op] });
  }

  /**
   * For each of the types, the resources a read of many may show: where the operation's action
   * and the read of the resource's tags through its own service are both granted.
   */
  private readable(
    principal: Principal,
    op: CrossServiceOperation,
    types: readonly ResourceType[],
  ): Map<ResourceType, ResourceCondition> {
    const route = routeGrant(this.authorizer, principal, tms, tms.permissions[op]);
    return new Map(
      types.map((t) => [t, readableWhere(this.authorizer, principal, route, profileForType(t))]),
    );
  }

  /**
   * Adds (`create`) or removes (`delete`) the tags on each resource. Returns the resources that
   * failed, each with its own service's error code and message.
   */
  async batch(
    principal: Principal,
    origin: ChangeOrigin,
    projectId: string,
    targets: readonly BatchTarget[],
    change: BatchChange,
  ): Promise<FailedResource[]> {
    this.authorize(principal, change.action === 'create' ? 'batchCreate' : 'batchDelete');
    const failed: FailedResource[] = [];
    for (const target of targets) {
      const profile = profileForType(target.type);
      const ref = { projectId, resourceId: target.resourceId };
      try {
        if (change.action === 'create') {
          await this.engine.create(principal, origin, profile, ref, change.tagsFor(profile));
        } else {
          await this.engine.delete(principal, origin, profile, ref, change.tagsFor(profile));
        }
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        failed.push(failure(profile, target, err));
      }
    }
    return failed;
  }

  /**
   * One page of the project's resources of the given types matching every tag condition, of
   * those the caller may read.
   */
  async filter(
    principal: Principal,
    projectId: string,
    types: readonly ResourceType[],
    conditions: { all: TagPredicate[]; untagged: boolean },
    page: { offset: number; limit: number },
  ): Promise<{ total: number; resources: FoundResource[] }> {
    const readable = byType(this.readable(principal, 'filter', types));
    return this.store.read('find', {
      filter: {
        projectId,
        types: readable.types,
        all: conditions.all,
        any: [],
        notAll: [],
        notAny: [],
        untagged: conditions.untagged,
        access: readable.condition,
      },
      page,
    });
  }

  /**
   * Distinct tag keys of the project over every type, ascending, after `after`: of the resources
   * the caller may read.
   */
  async tagKeys(
    principal: Principal,
    projectId: string,
    after: string | undefined,
    limit: number,
  ): Promise<{ items: string[]; more: boolean }> {
    const readable = this.readable(
      principal,
      'tagKeys',
      PROFILES.map((p) => p.resourceType),
    );
    const lists = await this.store.read('keysByType', {
      projectId,
      types: PROFILES.map((p) => ({
        type: p.resourceType,
        condition: readable.get(p.resourceType)!,
      })),
      ...(after !== undefined ? { after } : {}),
      limit: limit + 1,
    });
    return firstDistinct(lists, limit);
  }

  /**
   * Distinct values of one tag key in the project over every type, ascending, after `after`: of
   * the resources the caller may read.
   */
  async tagValues(
    principal: Principal,
    projectId: string,
    key: string,
    after: string | undefined,
    limit: number,
  ): Promise<{ items: string[]; more: boolean }> {
    const readable = this.readable(
      principal,
      'tagValues',
      PROFILES.map((p) => p.resourceType),
    );
    const lists = await this.store.read('valuesByType', {
      projectId,
      types: PROFILES.map((p) => ({
        type: p.resourceType,
        condition: readable.get(p.resourceType)!,
      })),
      key,
      ...(after !== undefined ? { after } : {}),
      limit: limit + 1,
    });
    return firstDistinct(lists, limit);
  }

  /** The services and resource types whose tags this API manages. */
  providers(principal: Principal, provider?: string): Provider[] {
    this.authorize(principal, 'providers');
    return PROFILES.filter((p) => provider === undefined || p.id === provider).map((p) => ({
      provider: p.id,
      provider_i18n_display_name: p.title,
      resource_types: [
        {
          resource_type: p.resourceType,
          resource_type_i18n_display_name: p.resourceNoun,
          global: false,
        },
      ],
    }));
  }
}

/** A resource's failure as its own service answers it: that service's code and message. */
function failure(profile: ServiceProfile, target: BatchTarget, err: AppError): FailedResource {
  const { code, message } = renderError(profile, err);
  return {
    resource_id: target.resourceId,
    resource_type: target.type,
    error_code: code,
    error_msg: message,
  };
}

/** The first `limit` distinct strings of several ascending lists, and whether more remain. */
function firstDistinct(lists: string[][], limit: number): { items: string[]; more: boolean } {
  const all = [...new Set(lists.flat())].sort(compareCodePoints);
  return { items: all.slice(0, limit), more: all.length > limit };
}
