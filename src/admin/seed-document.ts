import { compilePolicy, PolicyError } from '../auth/policy-evaluator.js';
import { AppError } from '../core/app-error.js';
import { ID_PATTERN, RESOURCE_ID_PATTERN } from '../core/ids.js';
import type { Tag } from '../core/tag.js';
import {
  isResourceType,
  profileForType,
  RESOURCE_TYPES,
  type ResourceType,
} from '../services/registry.js';
import { readTagArray, readTagsToCreate } from '../tags/tag-input.js';

/*
 * The seed document: its shape, read and checked field by field with messages naming the entry.
 * Whether what it refers to exists is checked when it is applied (seed.ts).
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
