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

/** A parent entry named by its id, or by its name. */
export type DomainRef = { readonly id: string } | { readonly name: string };

/** A project named by its id, or by its name and its domain's. */
export type ProjectRef =
  | { readonly id: string }
  | { readonly name: string; readonly domain: DomainRef };

export interface SeedDomain {
  /** Without one: the domain of that name, or a new one with a generated id. */
  readonly id?: string;
  readonly name: string;
}
export interface SeedProject {
  /** Without one: the project of that name in its domain, or a new one with a generated id. */
  readonly id?: string;
  readonly name: string;
  readonly domain: DomainRef;
}
export interface SeedAccessKey {
  readonly accessKey: string;
  readonly secretKey: string;
}
export interface SeedUser {
  /** Without one: the user of that name in its domain, or a new one with a generated id. */
  readonly id?: string;
  readonly name: string;
  readonly domain: DomainRef;
  readonly root: boolean;
  readonly password?: string;
  readonly accessKeys: readonly SeedAccessKey[];
  /** Identity policy documents, checked by the policy evaluator. */
  readonly policies: readonly unknown[];
}

/** A resource as the document gives it: its type and tags are not checked yet. */
export interface SeedResourceInput {
  readonly project: ProjectRef;
  readonly type: string;
  /**
   * Without one: the resource of that type and name in its project, or a new one with a
   * generated id (it then needs a name, to be found again by the next load).
   */
  readonly id?: string;
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

/** How messages name an entry: `users[1] (id 'u-dev')`, or by its name when it has no id. */
export function entryLabel(
  section: string,
  index: number,
  entry: { readonly id?: string | undefined; readonly name?: string | undefined },
): string {
  if (entry.id !== undefined) return `${section}[${index}] (id '${entry.id}')`;
  if (entry.name) return `${section}[${index}] (name '${entry.name}')`;
  return `${section}[${index}]`;
}

/** A reference as messages quote it: `domain 'd-acme'`, `domain named 'acme'`. */
export function refText(what: string, ref: DomainRef | ProjectRef): string {
  if ('id' in ref) return `${what} '${ref.id}'`;
  return 'domain' in ref
    ? `${what} named '${ref.name}' of ${refText('domain', ref.domain)}`
    : `${what} named '${ref.name}'`;
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

/**
 * Checks what the seed's schema cannot: its policy documents, its resources' types and tags.
 * What it refers to, and whether it names something twice, is checked as it is applied, once
 * every entry is known by its id.
 */
export function checkSeed(input: SeedInput): Seed {
  for (const [i, u] of input.users.entries()) {
    for (const [j, p] of u.policies.entries()) {
      checkPolicy(p, `${entryLabel('users', i, u)}.policies[${j}]`);
    }
  }
  const resources = input.resources.map((r, i) => {
    const where = entryLabel('resources', i, r);
    if (r.id === undefined && r.name === '') {
      throw new SeedError(
        `${where}: give its 'id', or a 'name' it is found by when the seed is loaded again.`,
      );
    }
    return checkResource(r, where);
  });
  return { ...input, resources };
}
