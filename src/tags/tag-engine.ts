import type { Authorizer } from '../auth/authorizer.js';
import { AppError } from '../core/app-error.js';
import type { ChangeOrigin, TagChange } from '../core/change-event.js';
import type { Principal } from '../core/principal.js';
import type { ResourceRecord } from '../core/resource.js';
import type { Tag, TagSelector } from '../core/tag.js';
import type {
  Permission,
  PermissionName,
  ResourceSwitch,
  ServiceProfile,
} from '../services/profile.js';
import { getAttribute, setAttribute } from '../store/attributes-store.js';
import { writeChange } from '../store/change-store.js';
import type { Executor, Store } from '../store/database.js';
import type { FoundResource } from '../store/query-store.js';
import { findResourceWithTags } from '../store/tags-store.js';
import { readableWhere, routeGrant } from './read-access.js';
import { registrationHint } from './registration.js';
import { filterOf, type ServiceQuery } from './tag-query.js';

/** How a switch is stored among a resource's attributes. */
const SWITCH_ON = 'on';
const SWITCH_OFF = 'off';

/** A key of a project's tags with all its values, ascending. */
export interface KeyValues {
  readonly key: string;
  readonly values: string[];
}

/** Which resource a call addresses. */
export interface ResourceRef {
  readonly projectId: string;
  readonly resourceId: string;
}

/** What a change does, given the resource's current tags; computed before anything is written. */
interface Plan {
  readonly put: Tag[];
  readonly remove: string[];
  /** What the call answers with: the tags created or deleted. */
  readonly result: Tag[];
}

/**
 * The one tag engine behind every service: applies any profile's rules to the central store.
 * Every change is planned in full against the current tags and then written in the same
 * transaction, so a request either happens completely or not at all, and a limit checked after
 * the merge holds however many writers there are.
 */
export class TagEngine {
  /**
   * `projectDomain` answers a project's domain from memory where it can (the identity cache the
   * request's credentials were checked against), so that a change's event need not look it up;
   * undefined: the statement appending the event looks it up.
   */
  constructor(
    private readonly store: Store,
    private readonly authorizer: Authorizer,
    private readonly projectDomain: (projectId: string) => string | undefined = () => undefined,
  ) {}

  private permission(profile: ServiceProfile, name: PermissionName): Permission {
    const p = profile.permissions[name];
    if (!p) throw new Error(`profile ${profile.id} has no permission for ${name}`);
    return p;
  }

  /** The resources of the profile's type a read of many may show (see read-access.ts). */
  private readable(principal: Principal, profile: ServiceProfile, name: PermissionName) {
    const route = routeGrant(this.authorizer, principal, profile, this.permission(profile, name));
    return readableWhere(this.authorizer, principal, route, profile);
  }

  /**
   * Refuses, before any body is read, a caller whom no request could allow any of the given
   * permissions (see Authorizer.precheck).
   */
  precheck(principal: Principal, profile: ServiceProfile, names: readonly PermissionName[]): void {
    this.authorizer.precheck?.({
      principal,
      profile,
      permissions: names.map((n) => this.permission(profile, n)),
    });
  }

  /** The resource and its tags, or the profile's not-found error. */
  private async loadResource(
    ex: Executor,
    profile: ServiceProfile,
    ref: ResourceRef,
    lock: boolean,
  ): Promise<{ resource: ResourceRecord; tags: Tag[]; lockedFirst?: boolean }> {
    const found = await findResourceWithTags(
      ex,
      ref.projectId,
      profile.resourceType,
      ref.resourceId,
      lock && this.store.caps.rowLocks,
    );
    if (!found) {
      throw new AppError(
        'resource_not_found',
        `The ${profile.resourceNoun} '${ref.resourceId}' does not exist in project '${ref.projectId}'.`,
        { resourceId: ref.resourceId, hint: registrationHint(profile.resourceType, ref) },
      );
    }
    return found;
  }

  /**
   * Plans and writes one change, and appends its event to the change log in the same
   * transaction (nothing for a change that changes nothing).
   */
  private async change(
    principal: Principal,
    origin: ChangeOrigin,
    profile: ServiceProfile,
    ref: ResourceRef,
    permission: PermissionName,
    requestTags: readonly TagSelector[],
    plan: (current: Map<string, string>) => Plan,
  ): Promise<Tag[]> {
    return this.store.transaction(async (tx) => {
      const loaded = await this.loadResource(tx, profile, ref, true);
      const { resource, tags: currentTags } = loaded;
      this.authorizer.authorize({
        principal,
        profile,
        permission: this.permission(profile, permission),
        resource,
        resourceTags: currentTags,
        requestTags,
      });
      const current = new Map(currentTags.map((t) => [t.key, t.value]));
      const { put, remove, result } = plan(current);
      const changes: TagChange[] = [
        ...remove.map((key) => ({ key, old: current.get(key) ?? null, new: null })),
        ...put.map((t) => ({ key: t.key, old: current.get(t.key) ?? null, new: t.value })),
      ];
      const event =
        changes.length === 0
          ? undefined
          : {
              time: new Date().toISOString(),
              projectId: resource.projectId,
              resourceType: resource.type,
              resourceId: resource.resourceId,
              origin,
              changes,
            };
      await writeChange(tx, this.store.caps, resource, remove, put, event, {
        lockedFirst: loaded.lockedFirst === true,
        domainId: this.projectDomain(resource.projectId),
      });
      return result;
    });
  }

  /**
   * Adds tags. An existing key is overwritten or refused, as the profile says; the tag count
   * after the merge may not exceed the profile's limit.
   */
  create(
    principal: Principal,
    origin: ChangeOrigin,
    profile: ServiceProfile,
    ref: ResourceRef,
    tags: readonly Tag[],
  ): Promise<Tag[]> {
    return this.change(principal, origin, profile, ref, 'create', tags, (current) => {
      let added = 0;
      for (const t of tags) {
        const existing = current.get(t.key);
        if (existing === undefined) {
          added++;
        } else if (profile.create.onExisting === 'reject') {
          throw new AppError(
            'tag_exists',
            `The tag key '${t.key}' already exists on ${profile.resourceNoun} '${ref.resourceId}'.`,
          );
        }
      }
      const total = current.size + added;
      if (total > profile.maxTags) {
        throw new AppError(
          'too_many_tags',
          `A ${profile.resourceNoun} can have at most ${profile.maxTags} tags; this request would leave ${total}.`,
        );
      }
      return {
        put: tags.filter((t) => current.get(t.key) !== t.value),
        remove: [],
        result: [...tags],
      };
    });
  }

  /**
   * Deletes tags by key, or by key and value when a value is given. A tag that is not there is
   * skipped or refused, as `onAbsent` (by default the profile) says.
   */
  delete(
    principal: Principal,
    origin: ChangeOrigin,
    profile: ServiceProfile,
    ref: ResourceRef,
    selectors: readonly TagSelector[],
    options: { onAbsent?: 'ignore' | 'reject' } = {},
  ): Promise<Tag[]> {
    const onAbsent = options.onAbsent ?? profile.delete.onAbsent;
    return this.change(principal, origin, profile, ref, 'delete', selectors, (current) => {
      const remaining = new Map(current);
      const removed: Tag[] = [];
      for (const s of selectors) {
        const value = remaining.get(s.key);
        if (value === undefined || (s.value !== undefined && s.value !== value)) {
          if (onAbsent === 'reject') {
            const what =
              s.value === undefined ? `'${s.key}'` : `'${s.key}' with value '${s.value}'`;
            throw new AppError(
              'tag_absent',
              `The tag ${what} does not exist on ${profile.resourceNoun} '${ref.resourceId}'.`,
            );
          }
          continue;
        }
        remaining.delete(s.key);
        removed.push({ key: s.key, value });
      }
      return { put: [], remove: removed.map((t) => t.key), result: removed };
    });
  }

  /** The tags of one resource, keys in code-point order. */
  async list(principal: Principal, profile: ServiceProfile, ref: ResourceRef): Promise<Tag[]> {
    const { resource, tags } = await this.loadResource(this.store.db, profile, ref, false);
    this.authorizer.authorize({
      principal,
      profile,
      permission: this.permission(profile, 'list'),
      resource,
      resourceTags: tags,
    });
    return tags;
  }

  /** The tag quota of one resource: the profile's limit, and how many more tags it can take. */
  async quota(
    principal: Principal,
    profile: ServiceProfile,
    ref: ResourceRef,
  ): Promise<{ total: number; available: number }> {
    const { resource, tags } = await this.loadResource(this.store.db, profile, ref, false);
    this.authorizer.authorize({
      principal,
      profile,
      permission: this.permission(profile, 'quota'),
      resource,
      resourceTags: tags,
    });
    return { total: profile.maxTags, available: Math.max(0, profile.maxTags - tags.length) };
  }

  /** Whether a resource's switch is on (it is off until switched on). */
  async switchState(
    principal: Principal,
    profile: ServiceProfile,
    ref: ResourceRef,
    setting: ResourceSwitch,
  ): Promise<boolean> {
    return this.store.readTransaction(async (tx) => {
      const { resource, tags } = await this.loadResource(tx, profile, ref, false);
      this.authorizer.authorize({
        principal,
        profile,
        permission: this.permission(profile, 'switchStatus'),
        resource,
        resourceTags: tags,
      });
      return (await getAttribute(tx, resource, setting.attribute)) === SWITCH_ON;
    });
  }

  /** Turns a resource's switch on or off; doing it twice is the same as doing it once. */
  setSwitch(
    principal: Principal,
    profile: ServiceProfile,
    ref: ResourceRef,
    setting: ResourceSwitch,
    on: boolean,
  ): Promise<void> {
    return this.store.transaction(async (tx) => {
      const { resource, tags } = await this.loadResource(tx, profile, ref, true);
      this.authorizer.authorize({
        principal,
        profile,
        permission: this.permission(profile, 'switch'),
        resource,
        resourceTags: tags,
      });
      await setAttribute(tx, resource, setting.attribute, on ? SWITCH_ON : SWITCH_OFF);
    });
  }

  /**
   * The tags of a project's resources of the profile's type: each key once, ascending, with its
   * distinct values ascending. With `page`, only that slice of the keys, and how many keys there
   * are in all. Only the tags of resources the caller may read count.
   */
  async projectTags(
    principal: Principal,
    profile: ServiceProfile,
    projectId: string,
    page?: { offset: number; limit: number },
  ): Promise<{ tags: KeyValues[]; total: number }> {
    return this.store.read('projectTags', {
      projectId,
      type: profile.resourceType,
      condition: this.readable(principal, profile, 'projectTags'),
      ...(page ? { page } : {}),
    });
  }

  /**
   * Resources of the profile's type matching a query: how many, and for `filter` one page of
   * them, newest registration first, each with its tags. Only resources the caller may read are
   * counted and returned.
   */
  async query(
    principal: Principal,
    profile: ServiceProfile,
    projectId: string,
    q: ServiceQuery,
  ): Promise<{ total: number; resources?: FoundResource[] }> {
    const filter = {
      ...filterOf(projectId, [profile.resourceType], q),
      access: this.readable(principal, profile, 'query'),
    };
    if (q.action === 'count') return { total: await this.store.read('count', { filter }) };
    return this.store.read('find', { filter, page: { offset: q.offset, limit: q.limit } });
  }
}
