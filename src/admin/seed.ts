import { hashPassword, verifyPassword } from '../auth/passwords.js';
import { compilePolicy, PolicyError } from '../auth/policy-evaluator.js';
import type { SecretBox } from '../auth/secret-box.js';
import { AppError } from '../core/app-error.js';
import { ID_PATTERN, RESOURCE_ID_PATTERN } from '../core/ids.js';
import type { Tag } from '../core/tag.js';
import {
  isResourceType,
  profileForType,
  RESOURCE_TYPES,
  type ResourceType,
} from '../services/registry.js';
import type { Executor, Store } from '../store/database.js';
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
import { readTagArray, readTagsToCreate } from '../tags/tag-input.js';

/** A seed document that cannot be loaded; the message names the entry. Nothing was written. */
export class SeedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SeedError';
  }
}

/** A seed registering this many resources or more is followed by fresh planner statistics. */
const BULK_RESOURCES = 500;

export interface SeedDomain {
  readonly id: string;
  readonly name: string;
}
export interface SeedProject {
  readonly id: string;
  readonly name: string;
  readonly domainId: string;
}
export interface SeedAccessKey {
  readonly accessKey: string;
  readonly secretKey: string;
}
export interface SeedUser {
  readonly id: string;
  readonly name: string;
  readonly domainId: string;
  readonly root: boolean;
  readonly password?: string;
  readonly accessKeys: readonly SeedAccessKey[];
  readonly policies: readonly unknown[];
}
export interface SeedResource {
  readonly projectId: string;
  readonly type: ResourceType;
  readonly id: string;
  readonly name: string;
  readonly enterpriseProjectId: string;
  /** When present, the resource's tags become exactly these. */
  readonly tags?: readonly Tag[];
}
export interface Seed {
  readonly domains: readonly SeedDomain[];
  readonly projects: readonly SeedProject[];
  readonly users: readonly SeedUser[];
  readonly resources: readonly SeedResource[];
}

export interface SeedSummary {
  readonly domains: number;
  readonly projects: number;
  readonly users: number;
  readonly access_keys: number;
  readonly resources: number;
}

type Obj = Record<string, unknown>;

interface StringOptions {
  readonly pattern?: RegExp;
  readonly patternText?: string;
  /** The value is a secret: messages never contain it. */
  readonly secret?: boolean;
}

class Reader {
  constructor(
    private readonly obj: Obj,
    private readonly where: string,
    allowed: readonly string[],
  ) {
    for (const k of Object.keys(obj)) {
      if (!allowed.includes(k)) {
        throw new SeedError(`${where}: unknown field '${k}' (expected: ${allowed.join(', ')}).`);
      }
    }
  }

  fail(message: string): never {
    throw new SeedError(`${this.where}: ${message}`);
  }

  string(field: string, opts: StringOptions & { optional?: boolean } = {}) {
    const v = this.obj[field];
    if (v === undefined || v === null) {
      if (opts.optional) return undefined;
      this.fail(`'${field}' is required.`);
    }
    if (typeof v !== 'string') this.fail(`'${field}' must be a string.`);
    if (opts.pattern && !opts.pattern.test(v)) {
      // A secret is not repeated: the message reaches the admin's terminal and logs.
      const shown = opts.secret ? '' : ` ${JSON.stringify(v)}`;
      this.fail(`'${field}'${shown} must be ${opts.patternText ?? `of the form ${opts.pattern}`}.`);
    }
    return v;
  }

  requiredString(field: string, opts: StringOptions = {}): string {
    return this.string(field, opts) as string;
  }

  boolean(field: string): boolean {
    const v = this.obj[field];
    if (v === undefined || v === null) return false;
    if (typeof v !== 'boolean') this.fail(`'${field}' must be true or false.`);
    return v;
  }

  array(field: string): unknown[] {
    const v = this.obj[field];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) this.fail(`'${field}' must be an array.`);
    return v;
  }
}

function entries(doc: Obj, field: string): { obj: Obj; where: string }[] {
  const v = doc[field];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new SeedError(`'${field}' must be an array.`);
  return v.map((item, i) => {
    const where = `${field}[${i}]`;
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      throw new SeedError(`${where}: must be an object.`);
    }
    const id = (item as Obj).id;
    return { obj: item as Obj, where: typeof id === 'string' ? `${where} (id '${id}')` : where };
  });
}

const ID_TEXT = '1–64 characters of A-Z a-z 0-9 _ -';

function checkPolicy(p: unknown, where: string): unknown {
  try {
    compilePolicy(p, where);
  } catch (err) {
    if (err instanceof PolicyError) throw new SeedError(err.message);
    throw err;
  }
  return p;
}

/** Checks the shape of a seed document; references are checked when it is applied. */
export function parseSeed(doc: unknown): Seed {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new SeedError(
      'The seed must be a JSON object with domains, projects, users and resources.',
    );
  }
  const top = doc as Obj;
  new Reader(top, 'seed', ['domains', 'projects', 'users', 'resources']);

  const domains = entries(top, 'domains').map(({ obj, where }) => {
    const r = new Reader(obj, where, ['id', 'name']);
    return {
      id: r.requiredString('id', { pattern: ID_PATTERN, patternText: ID_TEXT }),
      name: r.requiredString('name', { pattern: /^.{1,64}$/u, patternText: '1–64 characters' }),
    };
  });

  const projects = entries(top, 'projects').map(({ obj, where }) => {
    const r = new Reader(obj, where, ['id', 'name', 'domain_id']);
    return {
      id: r.requiredString('id', { pattern: ID_PATTERN, patternText: ID_TEXT }),
      name: r.requiredString('name', { pattern: /^.{1,64}$/u, patternText: '1–64 characters' }),
      domainId: r.requiredString('domain_id'),
    };
  });

  const users = entries(top, 'users').map(({ obj, where }) => {
    const r = new Reader(obj, where, [
      'id',
      'name',
      'domain_id',
      'root',
      'password',
      'access_keys',
      'policies',
    ]);
    const accessKeys = r.array('access_keys').map((k, i) => {
      const kw = `${where}.access_keys[${i}]`;
      if (k === null || typeof k !== 'object' || Array.isArray(k)) {
        throw new SeedError(`${kw}: must be an object with access_key and secret_key.`);
      }
      const kr = new Reader(k as Obj, kw, ['access_key', 'secret_key']);
      return {
        accessKey: kr.requiredString('access_key', {
          pattern: /^[A-Za-z0-9]{4,128}$/,
          patternText: '4–128 letters and digits',
        }),
        secretKey: kr.requiredString('secret_key', {
          pattern: /^[\x21-\x7e]{8,256}$/,
          patternText: '8–256 printable ASCII characters without spaces',
          secret: true,
        }),
      };
    });
    const password = r.string('password', { optional: true });
    if (password !== undefined && password.length === 0) r.fail("'password' must not be empty.");
    return {
      id: r.requiredString('id', { pattern: ID_PATTERN, patternText: ID_TEXT }),
      name: r.requiredString('name', { pattern: /^.{1,64}$/u, patternText: '1–64 characters' }),
      domainId: r.requiredString('domain_id'),
      root: r.boolean('root'),
      ...(password !== undefined ? { password } : {}),
      accessKeys,
      policies: r.array('policies').map((p, i) => checkPolicy(p, `${where}.policies[${i}]`)),
    };
  });

  const resources = entries(top, 'resources').map(({ obj, where }) => {
    const r: Reader = new Reader(obj, where, [
      'project_id',
      'type',
      'id',
      'name',
      'enterprise_project_id',
      'tags',
    ]);
    const typeText = r.requiredString('type');
    if (!isResourceType(typeText)) {
      r.fail(
        `'type' ${JSON.stringify(typeText)} is not a resource type (expected one of ${RESOURCE_TYPES.join(', ')}).`,
      );
    }
    const type: ResourceType = typeText;
    const profile = profileForType(type);
    let tags: Tag[] | undefined;
    if (obj.tags !== undefined && obj.tags !== null) {
      try {
        tags = readTagsToCreate(readTagArray(obj), profile.create.rules);
      } catch (err) {
        if (err instanceof AppError) r.fail(`${err.message} (${profile.title} rules)`);
        throw err;
      }
      if (tags.length > profile.maxTags) {
        r.fail(
          `${tags.length} tags; a ${profile.resourceNoun} can have at most ${profile.maxTags}.`,
        );
      }
    }
    return {
      projectId: r.requiredString('project_id'),
      type,
      id: r.requiredString('id', {
        pattern: RESOURCE_ID_PATTERN,
        patternText: '1–128 characters without / or control characters',
      }),
      name: r.string('name', { optional: true }) ?? '',
      enterpriseProjectId: r.string('enterprise_project_id', { optional: true }) ?? '0',
      ...(tags ? { tags } : {}),
    };
  });

  const dup = <T>(list: readonly T[], key: (t: T) => string, what: string) => {
    const seen = new Set<string>();
    for (const t of list) {
      const k = key(t);
      if (seen.has(k)) throw new SeedError(`${what} ${k} appears more than once in the seed.`);
      seen.add(k);
    }
  };
  dup(domains, (d) => `'${d.id}'`, 'domain');
  dup(domains, (d) => `name '${d.name}'`, 'domain');
  dup(projects, (p) => `'${p.id}'`, 'project');
  // A project name is a region name: unique in its domain, as SDKs look project ids up by it.
  dup(projects, (p) => `name '${p.name}' in domain '${p.domainId}'`, 'project');
  dup(users, (u) => `'${u.id}'`, 'user');
  dup(users, (u) => `'${u.name}' of domain '${u.domainId}'`, 'user');
  dup(
    users.flatMap((u) => u.accessKeys),
    (k) => `'${k.accessKey}'`,
    'access key',
  );
  dup(resources, (r) => `${r.type} '${r.id}' of project '${r.projectId}'`, 'resource');
  return { domains, projects, users, resources };
}

/**
 * Loads a seed: an idempotent upsert, all in one transaction. A bad document, or one that
 * refers to something that exists neither in it nor in the database, is rejected whole.
 */
export async function applySeed(
  store: Store,
  secrets: SecretBox,
  doc: unknown,
  now = new Date().toISOString(),
): Promise<SeedSummary> {
  const seed = parseSeed(doc);
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
    for (const rec of registered) {
      const wanted = byRef.get(`${rec.projectId}\0${rec.type}\0${rec.resourceId}`)?.tags;
      if (!wanted) continue;
      const current = await listTags(tx, rec.projectId, rec.rid);
      const keep = new Set(wanted.map((t) => t.key));
      await deleteTags(
        tx,
        rec,
        current.filter((t) => !keep.has(t.key)).map((t) => t.key),
      );
      await putTags(tx, rec, wanted);
    }
    return {
      domains: seed.domains.length,
      projects: seed.projects.length,
      users: seed.users.length,
      access_keys: keyCount,
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
