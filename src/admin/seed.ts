import { hashPassword, verifyPassword } from '../auth/passwords.js';
import type { SecretBox } from '../auth/secret-box.js';
import {
  adminOrigin,
  type ChangeOrigin,
  type NewChangeEvent,
  tagChanges,
} from '../core/change-event.js';
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
import { gatherStatistics, registerResources } from '../store/resources-store.js';
import { deleteTags, listTags, putTags } from '../store/tags-store.js';
import { checkSeed, SeedError, type SeedInput, type SeedUser } from './seed-document.js';

/** A seed registering this many resources or more is followed by fresh planner statistics. */
const BULK_RESOURCES = 500;

export interface SeedSummary {
  readonly domains: number;
  readonly projects: number;
  readonly users: number;
  readonly accessKeys: number;
  readonly resources: number;
}

/**
 * Loads a seed: an idempotent upsert, all in one transaction. A seed whose content is wrong, or
 * that refers to something that exists neither in it nor in the database, is rejected whole
 * (SeedError).
 */
export async function applySeed(
  store: Store,
  secrets: SecretBox,
  input: SeedInput,
  origin: ChangeOrigin = adminOrigin('AdminSeed'),
  now = new Date().toISOString(),
): Promise<SeedSummary> {
  const seed = checkSeed(input);
  const passwordHashes = await hashPasswords(store, seed.users);

  const summary = await store.transaction(async (tx) => {
    const domainIds = new Set(seed.domains.map((d) => d.id));
    const projectIds = new Set(seed.projects.map((p) => p.id));
    const domainExists = async (id: string) =>
      domainIds.has(id) || (await findDomainById(tx, id)) !== undefined;

    for (const d of seed.domains) {
      const named = await findDomainByName(tx, d.name);
      if (named && named.id !== d.id) {
        throw new SeedError(
          `domains (id '${d.id}'): the name '${d.name}' belongs to domain '${named.id}'.`,
        );
      }
      await upsertDomain(tx, d, now);
    }
    for (const p of seed.projects) {
      if (!(await domainExists(p.domainId))) {
        throw new SeedError(`projects (id '${p.id}'): domain '${p.domainId}' does not exist.`);
      }
      const named = await listProjects(tx, { domainId: p.domainId, name: p.name });
      const taken = named.find((other) => other.id !== p.id);
      if (taken) {
        throw new SeedError(
          `projects (id '${p.id}'): the name '${p.name}' belongs to project '${taken.id}' of domain '${p.domainId}'.`,
        );
      }
      await upsertProject(tx, p, now);
    }
    let keyCount = 0;
    for (const u of seed.users) {
      await applyUser(tx, secrets, u, passwordHashes.get(u.id), now, domainExists);
      keyCount += u.accessKeys.length;
    }
    for (const r of seed.resources) {
      if (!projectIds.has(r.projectId) && !(await findProject(tx, r.projectId))) {
        throw new SeedError(
          `resources (${r.type} '${r.id}'): project '${r.projectId}' does not exist.`,
        );
      }
    }
    const registered = await registerResources(
      tx,
      seed.resources.map((r) => ({
        projectId: r.projectId,
        type: r.type,
        resourceId: r.id,
        name: r.name,
        enterpriseProjectId: r.enterpriseProjectId,
      })),
      now,
    );
    const byRef = new Map(seed.resources.map((r) => [`${r.projectId}\0${r.type}\0${r.id}`, r]));
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
    // Last: on PostgreSQL the log's id lock is then held for the commit only.
    await appendEvents(tx, events);
    return {
      domains: seed.domains.length,
      projects: seed.projects.length,
      users: seed.users.length,
      accessKeys: keyCount,
      resources: seed.resources.length,
    };
  });
  // A large seed is a bulk load: queries over it should not be planned as if the tables were empty.
  if (seed.resources.length >= BULK_RESOURCES) await gatherStatistics(store.db, store.caps);
  return summary;
}

/**
 * The password hash to store for each seeded user with a password. Hashing is slow by design, so
 * it happens before the write transaction; a password that matches the stored hash keeps it, so
 * loading a seed twice changes nothing.
 */
async function hashPasswords(
  store: Store,
  users: readonly SeedUser[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const u of users) {
    if (u.password === undefined) continue;
    const stored = (await findUserById(store.db, u.id))?.passwordHash ?? null;
    out.set(
      u.id,
      stored && (await verifyPassword(u.password, stored))
        ? stored
        : await hashPassword(u.password),
    );
  }
  return out;
}

async function applyUser(
  tx: Executor,
  secrets: SecretBox,
  u: SeedUser,
  passwordHash: string | undefined,
  now: string,
  domainExists: (id: string) => Promise<boolean>,
): Promise<void> {
  const where = `users (id '${u.id}')`;
  if (!(await domainExists(u.domainId))) {
    throw new SeedError(`${where}: domain '${u.domainId}' does not exist.`);
  }
  const sameName = await findUserByName(tx, u.domainId, u.name);
  if (sameName && sameName.id !== u.id) {
    throw new SeedError(
      `${where}: the name '${u.name}' belongs to user '${sameName.id}' of that domain.`,
    );
  }
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
