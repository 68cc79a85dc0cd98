import { AppError } from '../core/app-error.js';
import { randomString } from '../core/random.js';
import type { Store } from '../store/database.js';
import { faultsChanged } from '../store/fault-version.js';
import {
  deleteAllFaults,
  deleteExpiredFaults,
  deleteFault,
  type FaultRow,
  fireFault,
  insertFault,
  listFaults,
} from '../store/faults-store.js';

/** Which requests a fault applies to: every field given must match; none given: every request. */
export interface FaultMatch {
  /** The API a route belongs to: a service id (`bms`, `as`, …), `tms` or `iam`. */
  readonly service?: string;
  /** The route's operationId. */
  readonly operation?: string;
  /** Upper case. */
  readonly method?: string;
  /** The path as sent starts with it (the query is not part of the path). */
  readonly pathPrefix?: string;
  /** The `project_id` of the path. */
  readonly projectId?: string;
  /** The resource id of the path. */
  readonly resourceId?: string;
}

/** The error a fault answers with; without `code`, the route's own code for the status. */
export interface FaultError {
  readonly status: number;
  readonly code?: string;
  readonly message?: string;
}

export interface FaultSpec {
  readonly match: FaultMatch;
  readonly error?: FaultError;
  readonly latencyMs: number;
  /** 0–1: the chance that a matching request fires it. */
  readonly probability: number;
  /** How many times it fires at most; undefined: unlimited. */
  readonly count?: number;
  /** Seconds it lives; undefined: until deleted. */
  readonly ttlS?: number;
}

export interface Fault extends FaultSpec {
  readonly id: string;
  /** How many times it has fired, on every node. */
  readonly fired: number;
}

/** What a request offers to be matched against. */
export interface RequestFacts {
  readonly service: string;
  readonly operation?: string;
  readonly method: string;
  readonly path: string;
  readonly projectId?: string;
  readonly resourceId?: string;
}

interface Loaded {
  readonly fault: Fault;
  /** Epoch milliseconds; undefined: never. */
  readonly expiresAt?: number;
}

/** While other nodes' changes cannot be seen (a lost listening connection), reload this often. */
const UNTRACKED_RELOAD_MS = 1_000;

function toRow(id: string, spec: FaultSpec, now: number): Omit<FaultRow, 'seq'> {
  const m = spec.match;
  return {
    id,
    match: JSON.stringify({
      service: m.service,
      operation: m.operation,
      method: m.method,
      path_prefix: m.pathPrefix,
      project_id: m.projectId,
      resource_id: m.resourceId,
    }),
    error: spec.error ? JSON.stringify(spec.error) : null,
    latency_ms: spec.latencyMs,
    probability: spec.probability,
    max_count: spec.count ?? null,
    fired: 0,
    ttl_s: spec.ttlS ?? null,
    expires_at: spec.ttlS === undefined ? null : now + Math.round(spec.ttlS * 1000),
    created_at: now,
  };
}

function fromRow(r: Omit<FaultRow, 'seq'>): Loaded {
  const m = JSON.parse(r.match) as Record<string, string | undefined>;
  const match: FaultMatch = {
    ...(m.service !== undefined ? { service: m.service } : {}),
    ...(m.operation !== undefined ? { operation: m.operation } : {}),
    ...(m.method !== undefined ? { method: m.method } : {}),
    ...(m.path_prefix !== undefined ? { pathPrefix: m.path_prefix } : {}),
    ...(m.project_id !== undefined ? { projectId: m.project_id } : {}),
    ...(m.resource_id !== undefined ? { resourceId: m.resource_id } : {}),
  };
  const fault: Fault = {
    id: r.id,
    match,
    ...(r.error !== null ? { error: JSON.parse(r.error) as FaultError } : {}),
    latencyMs: r.latency_ms,
    probability: r.probability,
    ...(r.max_count !== null ? { count: r.max_count } : {}),
    ...(r.ttl_s !== null ? { ttlS: r.ttl_s } : {}),
    fired: r.fired,
  };
  return { fault, ...(r.expires_at !== null ? { expiresAt: r.expires_at } : {}) };
}

export function faultMatches(m: FaultMatch, r: RequestFacts): boolean {
  return (
    (m.service === undefined || m.service === r.service) &&
    (m.operation === undefined || m.operation === r.operation) &&
    (m.method === undefined || m.method === r.method) &&
    (m.pathPrefix === undefined || r.path.startsWith(m.pathPrefix)) &&
    (m.projectId === undefined || m.projectId === r.projectId) &&
    (m.resourceId === undefined || m.resourceId === r.resourceId)
  );
}

/**
 * Injected faults, kept in the store so that every node applies them, at no cost to a request
 * while none is set.
 *
 * Each node keeps the faults that can still fire in memory, loaded whole (one small query) when a
 * request finds the copy stale, one load at a time. It goes stale when the set changes (created,
 * deleted, used up): those transactions bump the `fault_version` setting, which notifies
 * `tagplane_faults` on PostgreSQL and is polled with `PRAGMA data_version` on SQLite, as identity
 * and lockout changes are. A request with no fault in memory reads nothing. While the PostgreSQL
 * listening connection is down, the copy is reloaded at most every second.
 *
 * A fault's firings are counted in the store by one statement each, which also refuses one past
 * its `count`: a limit holds exactly across nodes.
 */
export class FaultInjector {
  private entries: readonly Loaded[] = [];
  /** Bumped by every change notification. */
  private generation = 0;
  /** The generation at the start of the load that filled `entries`; -1: never loaded. */
  private loaded = -1;
  private loadedAt = 0;
  private loading: Promise<void> | undefined;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: Store,
    private readonly now: () => number,
    private readonly random: () => number = Math.random,
  ) {
    this.unsubscribe = store.onFaultChange(() => {
      this.generation++;
    });
  }

  close(): void {
    this.unsubscribe();
    this.entries = [];
  }

  private stale(): boolean {
    this.store.pollIdentity();
    if (this.loaded < this.generation) return true;
    return !this.store.identityTracked() && this.now() - this.loadedAt >= UNTRACKED_RELOAD_MS;
  }

  /** True when no fault can fire: the common case, answered from memory. */
  idle(): boolean {
    return !this.stale() && this.entries.length === 0;
  }

  private async current(): Promise<readonly Loaded[]> {
    while (this.stale()) {
      this.loading ??= this.load().finally(() => {
        this.loading = undefined;
      });
      await this.loading;
    }
    return this.entries;
  }

  private async load(): Promise<void> {
    const generation = this.generation;
    const now = this.now();
    const rows = await listFaults(this.store.db, now);
    if (generation < this.loaded) return;
    this.entries = rows
      .map(fromRow)
      .filter((l) => l.fault.count === undefined || l.fault.fired < l.fault.count);
    this.loaded = generation;
    this.loadedAt = now;
  }

  /**
   * The fault that fires for a request, counted as fired; undefined when none does. Faults are
   * tried oldest first; the first that matches, passes its probability and has firings left fires.
   */
  async fire(request: RequestFacts): Promise<Fault | undefined> {
    for (const { fault, expiresAt } of await this.current()) {
      if (expiresAt !== undefined && expiresAt <= this.now()) {
        this.forgetExpired();
        continue;
      }
      if (!faultMatches(fault.match, request)) continue;
      if (fault.probability < 1 && !(this.random() < fault.probability)) continue;
      const fired = await this.store.transaction(async (tx) => {
        const after = await fireFault(tx, fault.id, this.now());
        // Used up: no node need try it again.
        if (after && after.maxCount !== null && after.fired >= after.maxCount) {
          await faultsChanged(tx);
        }
        return after;
      });
      if (fired) return { ...fault, fired: fired.fired };
    }
    return undefined;
  }

  /** Expired faults leave this node's copy, so that it is idle again once all have. */
  private forgetExpired(): void {
    const now = this.now();
    this.entries = this.entries.filter((l) => l.expiresAt === undefined || l.expiresAt > now);
  }

  async create(spec: FaultSpec): Promise<Fault> {
    const id = `fault-${randomString(16, '0123456789abcdef')}`;
    const row = toRow(id, spec, this.now());
    await this.store.transaction(async (tx) => {
      await deleteExpiredFaults(tx, row.created_at);
      await insertFault(tx, row);
      await faultsChanged(tx);
    });
    return fromRow(row).fault;
  }

  /** Every fault that has not expired, oldest first, with how many times each has fired. */
  async list(): Promise<Fault[]> {
    const rows = await listFaults(this.store.db, this.now());
    return rows.map((r) => fromRow(r).fault);
  }

  async delete(id: string): Promise<void> {
    const gone = await this.store.transaction(async (tx) => {
      const existed = await deleteFault(tx, id);
      if (existed) await faultsChanged(tx);
      return existed;
    });
    if (!gone) throw new AppError('resource_not_found', `No fault '${id}' exists.`);
  }

  async clear(): Promise<void> {
    await this.store.transaction(async (tx) => {
      if ((await deleteAllFaults(tx)) > 0) await faultsChanged(tx);
    });
  }
}
