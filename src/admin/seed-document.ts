import { compilePolicy, PolicyError } from '../auth/policy-evaluator.js';
import { AppError } from '../core/app-error.js';
import type { Tag } from '../core/tag.js';
import {
  isResourceType,
  profileForType,
  RESOURCE_TYPES,
  type ResourceType,
} from '../services/registry.js';
import { readTagArray, readTagsToCreate } from '../tags/tag-input.js';

/*
 * The seed's content: what its schema cannot say (http/seed-schema.ts checks the document's
 * shape), checked with messages naming the entry: policy documents, resource types and tags under
 * their service's rules, ids given twice. Whether what it refers to exists is checked when it is
 * applied (seed.ts).
 */

/** A seed document that cannot be loaded; the message names the entry. Nothing was written. */
export class SeedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SeedError';
  }
}

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
  /** Identity policy documents, checked by the policy evaluator. */
  readonly policies: readonly unknown[];
}

/** A resource as the document gives it: its type and tags are not checked yet. */
export interface SeedResourceInput {
  readonly projectId: string;
  readonly type: string;
  readonly id: string;
  readonly name: string;
  readonly enterpriseProjectId: string;
  /** When present, the resource's tags become exactly these. */
  readonly tags?: unknown;
}

export interface SeedResource extends SeedResourceInput {
  readonly type: ResourceType;
  readonly tags?: readonly Tag[];
}

/** A seed whose shape is right; `checkSeed` checks its content. */
export interface SeedInput {
  readonly domains: readonly SeedDomain[];
  readonly projects: readonly SeedProject[];
  readonly users: readonly SeedUser[];
  readonly resources: readonly SeedResourceInput[];
}

export interface Seed extends SeedInput {
  readonly resources: readonly SeedResource[];
}

function checkPolicy(doc: unknown, where: string): void {
  try {
    compilePolicy(doc, where);
  } catch (err) {
    if (err instanceof PolicyError) throw new SeedError(err.message);
    throw err;
  }
}

function checkResource(r: SeedResourceInput, where: string): SeedResource {
  const fail = (message: string): never => {
    throw new SeedError(`${where}: ${message}`);
  };
  if (!isResourceType(r.type)) {
    return fail(
      `'type' ${JSON.stringify(r.type)} is not a resource type (expected one of ${RESOURCE_TYPES.join(', ')}).`,
    );
  }
  const type: ResourceType = r.type;
  const tags = r.tags === undefined ? undefined : checkTags(type, r.tags, fail);
  return { ...r, type, tags };
}

function checkTags(type: ResourceType, given: unknown, fail: (message: string) => never): Tag[] {
  const profile = profileForType(type);
  let tags: Tag[];
  try {
    tags = readTagsToCreate(readTagArray({ tags: given }), profile.create.rules);
  } catch (err) {
    if (err instanceof AppError) return fail(`${err.message} (${profile.title} rules)`);
    throw err;
  }
  if (tags.length > profile.maxTags) {
    fail(`${tags.length} tags; a ${profile.resourceNoun} can have at most ${profile.maxTags}.`);
  }
  return tags;
}

/** Refuses a document naming something twice; `what` says which. */
function once<T>(list: readonly T[], key: (t: T) => string, what: string): void {
  const seen = new Set<string>();
  for (const t of list) {
    const k = key(t);
    if (seen.has(k)) throw new SeedError(`${what} ${k} appears more than once in the seed.`);
    seen.add(k);
  }
}

/**
 * Checks what the seed's schema cannot: its policy documents, its resources' types and tags,
 * and that nothing is given twice. References are checked when it is applied.
 */
export function checkSeed(input: SeedInput): Seed {
  for (const [i, u] of input.users.entries()) {
    for (const [j, p] of u.policies.entries()) {
      checkPolicy(p, `users[${i}] (id '${u.id}').policies[${j}]`);
    }
  }
  const resources = input.resources.map((r, i) =>
    checkResource(r, `resources[${i}] (id '${r.id}')`),
  );
  const { domains, projects, users } = input;
  once(domains, (d) => `'${d.id}'`, 'domain');
  once(domains, (d) => `name '${d.name}'`, 'domain');
  once(projects, (p) => `'${p.id}'`, 'project');
  // A project name is a region name: unique in its domain, as SDKs look project ids up by it.
  once(projects, (p) => `name '${p.name}' in domain '${p.domainId}'`, 'project');
  once(users, (u) => `'${u.id}'`, 'user');
  once(users, (u) => `'${u.name}' of domain '${u.domainId}'`, 'user');
  once(
    users.flatMap((u) => u.accessKeys),
    (k) => `'${k.accessKey}'`,
    'access key',
  );
  once(resources, (r) => `${r.type} '${r.id}' of project '${r.projectId}'`, 'resource');
  return { domains, projects, users, resources };
}
