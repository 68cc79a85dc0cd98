import { randomUUID } from 'node:crypto';
import { hashPassword, verifyPassword } from '../auth/passwords.js';
import type { SecretBox } from '../auth/secret-box.js';
import {
  adminOrigin,
  type ChangeOrigin,
  type NewChangeEvent,
  tagChanges,
} from '../core/change-event.js';
import type { UserRecord } from '../core/identity.js';
import type { Executor, Store } from '../store/database.js';
import { appendEvents } from '../store/events-store.js';
import {
  findAccessKey,
  findDomainById,
  findDomainByName,
  findProject,
  findUserById,
  findUserByName,
  listProjects,
  upsertAccessKey,
  upsertDomain,
  upsertProject,
  upsertUser,
} from '../store/identity-store.js';
import {
  findResourcesByName,
  gatherStatistics,
  registerResources,
} from '../store/resources-store.js';
import { deleteTags, listTags, putTags } from '../store/tags-store.js';
import {
  checkSeed,
  type DomainRef,
  entryLabel,
  type ProjectRef,
  refText,
  type SeedDomain,
  SeedError,
  type SeedInput,
  type SeedProject,
  type SeedResource,
  type SeedUser,
} from './seed-document.js';

/** A seed registering this many resources or more is followed by fresh planner statistics. */
const BULK_RESOURCES = 500;

/** Every entry's id, in document order: the given ones, those found by name, the generated. */
export interface SeedIds {
  readonly domains: readonly string[];
  readonly projects: readonly string[];
  readonly users: readonly string[];
  readonly resources: readonly string[];
}

export interface SeedResult {
  readonly ids: SeedIds;
  readonly accessKeys: number;
}

/** Ids of domains, projects and users as IAM makes them: 32 hexadecimal digits. */
const newIdentityId = () => randomUUID().replace(/-/g, '');

/**
 * Refuses a second entry for what an earlier one named; `key` identifies it once ids are known.
 */
class Seen {
  private readonly keys = new Map<string, string>();
  constructor(private readonly what: string) {}

  add(key: string, shown: string, where: string): void {
    const first = this.keys.get(key);
    if (first !== undefined) {
      throw new SeedError(
        `${where}: ${this.what} ${shown} appears more than once in the seed (first as ${first}).`,
      );
    }
    this.keys.set(key, where);
  }
}

/**
 * Loads a seed: an idempotent upsert, all in one transaction. An entry without an id is matched
 * by its name within its parent (a domain by its name), so loading the same document again
 * creates nothing new; one that matches nothing gets a generated id. A seed whose content is
 * wrong, or that refers to something that exists neither in it nor in the database, is rejected
 * whole (SeedError).
 */
export async function applySeed(
  store: Store,
  secrets: SecretBox,
  input: SeedInput,
  origin: ChangeOrigin = adminOrigin('AdminSeed'),
  now = new Date().toISOString(),
): Promise<SeedResult> {
  const seed = checkSeed(input);
  const passwordHashes = await hashPasswords(store, seed.users);

  const result = await store.transaction(async (tx) => {
    const domains = await applyDomains(tx, seed.domains, now);
    const projects = await applyProjects(tx, seed.projects, now);
    const users: string[] = [];
    const userKeys = new Seen('user');
    const userNames = new Seen('user');
    let accessKeys = 0;
    for (const [i, u] of seed.users.entries()) {
      const where = entryLabel('users', i, u);
      const domainId = await resolveDomain(tx, u.domain, where);
      const named = await findUserByName(tx, domainId, u.name);
      if (u.id !== undefined && named && named.id !== u.id) {
        throw new SeedError(
          `${where}: the name '${u.name}' belongs to user '${named.id}' of that domain.`,
        );
      }
      const id = u.id ?? named?.id ?? newIdentityId();
      userKeys.add(id, `'${id}'`, where);
      userNames.add(`${domainId}\0${u.name}`, `'${u.name}' of domain '${domainId}'`, where);
      await applyUser(tx, secrets, { ...u, id, domainId }, passwordHashes.get(i), now, where);
      users.push(id);
      accessKeys += u.accessKeys.length;
    }
    const resources = await applyResources(tx, seed.resources, origin, now);
    return { ids: { domains, projects, users, resources }, accessKeys };
  });
  // A large seed is a bulk load: queries over it should not be planned as if the tables were empty.
  if (seed.resources.length >= BULK_RESOURCES) await gatherStatistics(store.db, store.caps);
  return result;
}

async function resolveDomain(tx: Executor, ref: DomainRef, where: string): Promise<string> {
  const found =
    'id' in ref ? await findDomainById(tx, ref.id) : await findDomainByName(tx, ref.name);
  if (!found) throw new SeedError(`${where}: ${refText('domain', ref)} does not exist.`);
  return found.id;
}

async function resolveProject(tx: Executor, ref: ProjectRef, where: string): Promise<string> {
  if ('id' in ref) {
    if (!(await findProject(tx, ref.id))) {
      throw new SeedError(`${where}: project '${ref.id}' does not exist.`);
    }
    return ref.id;
  }
  const domainId = await resolveDomain(tx, ref.domain, where);
  const [found] = await listProjects(tx, { domainId, name: ref.name });
  if (!found) throw new SeedError(`${where}: ${refText('project', ref)} does not exist.`);
  return found.id;
}

async function applyDomains(
  tx: Executor,
  domains: readonly SeedDomain[],
  now: string,
): Promise<string[]> {
  const ids: string[] = [];
  const seenIds = new Seen('domain');
  const seenNames = new Seen('domain');
  for (const [i, d] of domains.entries()) {
    const where = entryLabel('domains', i, d);
    const named = await findDomainByName(tx, d.name);
    if (d.id !== undefined && named && named.id !== d.id) {
      throw new SeedError(`${where}: the name '${d.name}' belongs to domain '${named.id}'.`);
    }
    const id = d.id ?? named?.id ?? newIdentityId();
    seenIds.add(id, `'${id}'`, where);
    seenNames.add(d.name, `name '${d.name}'`, where);
    await upsertDomain(tx, { id, name: d.name }, now);
    ids.push(id);
  }
  return ids;
}

async function applyProjects(
  tx: Executor,
  projects: readonly SeedProject[],
  now: string,
): Promise<string[]> {
  const ids: string[] = [];
  const seenIds = new Seen('project');
  // A project name is a region name: unique in its domain, as SDKs look project ids up by it.
  const seenNames = new Seen('project');
  for (const [i, p] of projects.entries()) {
    const where = entryLabel('projects', i, p);
    const domainId = await resolveDomain(tx, p.domain, where);
    const named = await listProjects(tx, { domainId, name: p.name });
    const taken = named.find((other) => other.id !== p.id);
    if (p.id !== undefined && taken) {
      throw new SeedError(
        `${where}: the name '${p.name}' belongs to project '${taken.id}' of domain '${domainId}'.`,
      );
    }
    const id = p.id ?? named[0]?.id ?? newIdentityId();
    seenIds.add(id, `'${id}'`, where);
    seenNames.add(`${domainId}\0${p.name}`, `name '${p.name}' in domain '${domainId}'`, where);
    await upsertProject(tx, { id, name: p.name, domainId }, now);
    ids.push(id);
  }
  return ids;
}

async function applyResources(
  tx: Executor,
  resources: readonly SeedResource[],
  origin: ChangeOrigin,
  now: string,
): Promise<string[]> {
  const seen = new Seen('resource');
  // An entry without an id is found by its type and name: no other entry may share them.
  const byName = new Map<string, { where: string; idless: boolean }>();
  const placed: { projectId: string; id: string; r: SeedResource }[] = [];
  for (const [i, r] of resources.entries()) {
    const where = entryLabel('resources', i, r);
    const projectId = await resolveProject(tx, r.project, where);
    const nameKey = `${projectId}\0${r.type}\0${r.name}`;
    const other = byName.get(nameKey);
    if (other && (other.idless || r.id === undefined)) {
      throw new SeedError(
        `${where}: ${other.where} has the same type and name '${r.name}' in project '${projectId}'; an entry without an id is found by them, so they must be its own.`,
      );
    }
    if (!other) byName.set(nameKey, { where, idless: r.id === undefined });
    let id = r.id;
    if (id === undefined) {
      const found = await findResourcesByName(tx, projectId, r.type, r.name);
      if (found.length > 1) {
        throw new SeedError(
          `${where}: project '${projectId}' has ${found.length} ${r.type} resources named '${r.name}' (${[...found].sort().join(', ')}); give the entry its 'id'.`,
        );
      }
      id = found[0] ?? randomUUID();
    }
    seen.add(
      `${projectId}\0${r.type}\0${id}`,
      `${r.type} '${id}' of project '${projectId}'`,
      where,
    );
    placed.push({ projectId, id, r });
  }
  const registered = await registerResources(
    tx,
    placed.map(({ projectId, id, r }) => ({
      projectId,
      type: r.type,
      resourceId: id,
      name: r.name,
      enterpriseProjectId: r.enterpriseProjectId,
    })),
    now,
  );
  const byRef = new Map(placed.map((p) => [`${p.projectId}\0${p.r.type}\0${p.id}`, p.r]));
  const events: NewChangeEvent[] = [];
  for (const rec of registered) {
    const wanted = byRef.get(`${rec.projectId}\0${rec.type}\0${rec.resourceId}`)?.tags;
    if (!wanted) continue;
    const current = await listTags(tx, rec.projectId, rec.rid);
    const changes = tagChanges(current, wanted);
    if (changes.length === 0) continue;
    await deleteTags(
      tx,
      rec,
      changes.filter((c) => c.new === null).map((c) => c.key),
    );
    await putTags(
      tx,
      rec,
      wanted.filter((t) => changes.some((c) => c.key === t.key)),
    );
    events.push({
      time: now,
      projectId: rec.projectId,
      resourceType: rec.type,
      resourceId: rec.resourceId,
      origin,
      changes,
    });
  }
  await appendEvents(tx, events);
  return placed.map((p) => p.id);
}

/**
 * The password hash to store for each seeded user with a password, by entry. Hashing is slow by
 * design, so it happens before the write transaction; a password that matches the stored hash of
 * the user the entry names (by id, or by name in its domain) keeps it, so loading a seed twice
 * changes nothing.
 */
async function hashPasswords(
  store: Store,
  users: readonly SeedUser[],
): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (const [i, u] of users.entries()) {
    if (u.password === undefined) continue;
    const stored = (await findSeededUser(store.db, u))?.passwordHash ?? null;
    out.set(
      i,
      stored && (await verifyPassword(u.password, stored))
        ? stored
        : await hashPassword(u.password),
    );
  }
  return out;
}

/** The user an entry names, as the database holds it now, if it does. */
async function findSeededUser(ex: Executor, u: SeedUser): Promise<UserRecord | undefined> {
  if (u.id !== undefined) return findUserById(ex, u.id);
  const domain =
    'id' in u.domain
      ? await findDomainById(ex, u.domain.id)
      : await findDomainByName(ex, u.domain.name);
  return domain ? findUserByName(ex, domain.id, u.name) : undefined;
}

async function applyUser(
  tx: Executor,
  secrets: SecretBox,
  u: SeedUser & { readonly id: string; readonly domainId: string },
  passwordHash: string | undefined,
  now: string,
  where: string,
): Promise<void> {
  const existing = await findUserById(tx, u.id);
  await upsertUser(
    tx,
    {
      id: u.id,
      domainId: u.domainId,
      name: u.name,
      root: u.root,
      passwordHash: passwordHash ?? existing?.passwordHash ?? null,
      policies: [...u.policies],
    },
    now,
  );
  for (const k of u.accessKeys) {
    const owner = await findAccessKey(tx, k.accessKey);
    if (owner && owner.userId !== u.id) {
      throw new SeedError(`${where}: access key '${k.accessKey}' belongs to another user.`);
    }
    if (owner && secrets.open(owner.secretCiphertext) === k.secretKey) continue;
    await upsertAccessKey(tx, {
      accessKey: k.accessKey,
      userId: u.id,
      secretCiphertext: secrets.seal(k.secretKey),
      createdAt: now,
    });
  }
}
