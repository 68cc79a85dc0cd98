import type { ProjectRecord, UserRecord } from '../core/identity.js';
import type { Store } from '../store/database.js';
import {
  findAccessKey,
  findProject,
  findUserById,
  listRevokedTokens,
} from '../store/identity-store.js';
import type { SecretBox } from './secret-box.js';

/** An access key with its secret opened, as the signature check needs it. */
export interface OpenAccessKey {
  readonly userId: string;
  readonly secretKey: string;
}

/** Beyond this many entries of one kind the cache starts over, bounding its memory. */
const MAX_ENTRIES = 10_000;

/**
 * Users, projects and access keys as the credential checks of every request read them, kept in
 * memory. The store says when identity data changes — this process's commits at once, other
 * processes' as soon as they are seen — and the cache is dropped then; while other processes'
 * changes cannot be seen (PostgreSQL's listening connection is down), every lookup goes to the
 * database. Only things that exist are cached, so unknown ids cannot fill it.
 */
export class IdentityCache {
  private users = new Map<string, UserRecord>();
  private projects = new Map<string, ProjectRecord>();
  private keys = new Map<string, OpenAccessKey>();
  /** Hashes of the tokens revoked one by one, read whole (they are few and short-lived). */
  private revoked: ReadonlySet<string> | undefined;
  /** Bumped by every drop: a lookup that started before one must not cache what it read. */
  private generation = 0;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: Store,
    private readonly secrets: SecretBox,
  ) {
    this.unsubscribe = store.onIdentityChange(() => this.clear());
  }

  clear(): void {
    this.generation++;
    this.users.clear();
    this.projects.clear();
    this.keys.clear();
    this.revoked = undefined;
  }

  close(): void {
    this.unsubscribe();
    this.clear();
  }

  private usable(): boolean {
    this.store.pollIdentity();
    return this.store.identityTracked();
  }

  private async through<T>(
    map: Map<string, T>,
    id: string,
    load: () => Promise<T | undefined>,
  ): Promise<T | undefined> {
    if (this.usable()) {
      const hit = map.get(id);
      if (hit !== undefined) return hit;
    }
    const generation = this.generation;
    const value = await load();
    if (value !== undefined && generation === this.generation && this.usable()) {
      if (map.size >= MAX_ENTRIES) map.clear();
      map.set(id, value);
    }
    return value;
  }

  /**
   * A user from memory, when it is cached and the cache can be trusted right now; undefined
   * otherwise (then ask `user`). The credential checks of every request try this first, so a
   * cached answer costs them no promise.
   */
  cachedUser(id: string): UserRecord | undefined {
    return this.usable() ? this.users.get(id) : undefined;
  }

  /** As `cachedUser`, for a project. */
  cachedProject(id: string): ProjectRecord | undefined {
    return this.usable() ? this.projects.get(id) : undefined;
  }

  /** As `cachedUser`, for the hashes of revoked tokens (see `revokedTokens`). */
  cachedRevokedTokens(): ReadonlySet<string> | undefined {
    return this.usable() ? this.revoked : undefined;
  }

  user(id: string): Promise<UserRecord | undefined> {
    return this.through(this.users, id, () => findUserById(this.store.db, id));
  }

  project(id: string): Promise<ProjectRecord | undefined> {
    return this.through(this.projects, id, () => findProject(this.store.db, id));
  }

  /** The hashes of revoked tokens not yet expired (`now`: epoch milliseconds). */
  async revokedTokens(now: number): Promise<ReadonlySet<string>> {
    if (this.usable() && this.revoked !== undefined) return this.revoked;
    const generation = this.generation;
    const revoked = new Set(await listRevokedTokens(this.store.db, now));
    // An entry that expires while cached matches only tokens that are refused as expired anyway.
    if (generation === this.generation && this.usable()) this.revoked = revoked;
    return revoked;
  }

  accessKey(accessKey: string): Promise<OpenAccessKey | undefined> {
    return this.through(this.keys, accessKey, async () => {
      const record = await findAccessKey(this.store.db, accessKey);
      return record
        ? { userId: record.userId, secretKey: this.secrets.open(record.secretCiphertext) }
        : undefined;
    });
  }
}
