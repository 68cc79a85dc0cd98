import { type Static, Type } from 'typebox';
import {
  type DomainRef,
  entryLabel,
  type ProjectRef,
  SeedError,
  type SeedInput,
} from '../admin/seed-document.js';
import { ID_PATTERN, RESOURCE_ID_PATTERN } from '../core/ids.js';
import { RESOURCE_TYPES } from '../services/registry.js';
import { ID_TEXT, NAME_RULE, NO_CONTROL, PolicyInput } from './admin-schemas.js';
import { identifierFieldProblem } from './identifier-check.js';
import { SEED_EXAMPLE } from './seed-example.js';
import { TagSchema } from './service-schemas.js';
import { checkedInCode, compileSchema, matching, type SchemaFailure } from './validation.js';

/*
 * The seed document (`--seed <file>`, `POST /admin/v1/seed`): one schema validates it, types it
 * and documents it. Its content (policy documents, resource types and tags, ids given twice) and
 * what it refers to are checked by the domain (admin/seed-document.ts, admin/seed.ts).
 */

const Id = (what: string, example: string, parent: string) =>
  Type.Optional(
    Type.String({
      pattern: ID_PATTERN.source,
      description: `The ${what}'s id: ${ID_TEXT}. Optional: without it the ${what} is found by its name${parent}, or created with a generated id (32 hexadecimal digits), so loading the document again creates nothing new.`,
      examples: [example],
    }),
  );

/** A domain named by id or by name: exactly one of the two. */
const domainRef = (what: string) => ({
  domain_id: Type.Optional(
    Type.String({
      pattern: NO_CONTROL,
      description: `The domain the ${what} belongs to, by id: one of this document or of the database. Give domain_id or domain_name.`,
      examples: ['d-acme'],
    }),
  ),
  domain_name: Type.Optional(
    Type.String({
      pattern: NO_CONTROL,
      description: `The domain the ${what} belongs to, by name. Give domain_id or domain_name.`,
      examples: ['acme'],
    }),
  ),
});

const SeedDomain = Type.Object(
  {
    id: Id('domain', 'd-acme', ''),
    name: Type.String({
      ...NAME_RULE,
      description:
        'The domain (account) name, unique among domains; users log in with it. 1–64 characters without control characters.',
      examples: ['acme'],
    }),
  },
  { additionalProperties: false, description: 'A domain: an account, holding users and projects.' },
);

const SeedProject = Type.Object(
  {
    id: Id('project', '0b4d6a8c1e2f', ' in its domain'),
    name: Type.String({
      ...NAME_RULE,
      description:
        "A region name (eu-de), or a region's sub-project (eu-de_analytics): SDKs find a project by its region's name, so it is unique in its domain. 1–64 characters without control characters.",
      examples: ['eu-de'],
    }),
    ...domainRef('project'),
  },
  { additionalProperties: false, description: 'A project: the scope tags live in.' },
);

const SeedAccessKey = Type.Object(
  {
    access_key: Type.String({
      pattern: '^[A-Za-z0-9]{4,128}$',
      description: 'The access key id (AK): 4–128 letters and digits.',
      examples: ['AKACMEROOT0000000001'],
    }),
    secret_key: Type.String({
      pattern: '^[\\x21-\\x7e]{8,256}$',
      description:
        'The secret key (SK) requests are signed with: 8–256 printable ASCII characters without spaces. Stored encrypted under the master key; never shown again.',
      examples: ['change-me-0123456789'],
    }),
  },
  { additionalProperties: false, description: 'An access key with its given secret key.' },
);

const SeedUser = Type.Object(
  {
    id: Id('user', 'u-acme-root', ' in its domain'),
    name: Type.String({
      ...NAME_RULE,
      description:
        'The user name, unique in its domain. 1–64 characters without control characters.',
      examples: ['root'],
    }),
    ...domainRef('user'),
    root: Type.Optional(
      Type.Boolean({
        description:
          'A root user may do everything in its domain; any other user only what its policies allow. Default false.',
      }),
    ),
    password: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Enables password tokens (POST /v3/auth/tokens). Stored hashed; loading the same password again keeps the hash.',
      }),
    ),
    access_keys: Type.Optional(
      Type.Array(SeedAccessKey, { description: 'Access keys (AK/SK) to sign requests with.' }),
    ),
    policies: Type.Optional(
      Type.Array(PolicyInput, {
        description:
          "Identity policy documents, replacing the user's; each is checked when the seed loads.",
      }),
    ),
  },
  { additionalProperties: false, description: 'A user of a domain, with its credentials.' },
);

const SeedResource = Type.Object(
  {
    project_id: Type.Optional(
      Type.String({
        pattern: NO_CONTROL,
        description:
          'The project it is in, by id: one of this document or of the database. Give project_id, or project_name with domain_name.',
        examples: ['0b4d6a8c1e2f'],
      }),
    ),
    project_name: Type.Optional(
      Type.String({
        pattern: NO_CONTROL,
        description: 'The project it is in, by name (with domain_name).',
        examples: ['eu-de'],
      }),
    ),
    domain_name: Type.Optional(
      Type.String({
        pattern: NO_CONTROL,
        description: "The name of the project's domain (with project_name).",
        examples: ['acme'],
      }),
    ),
    type: Type.String({
      description: `Its resource type: one of ${RESOURCE_TYPES.join(', ')}.`,
      examples: ['bms_server'],
    }),
    id: Type.Optional(
      matching(
        Type.String({
          description:
            'The resource id its service knows it by: 1–128 characters (UTF-16 code units) without / or control characters. Optional: without it the resource is found by its type and name in its project, or registered with a generated id (a UUID); it then needs a name.',
          examples: ['5b1a3c0e-8d2f-4e4a-9a57-2f0c1d9e7b61'],
        }),
        RESOURCE_ID_PATTERN,
      ),
    ),
    name: Type.Optional(
      Type.String({
        pattern: NO_CONTROL,
        description: 'Default "" (required when there is no id); no control characters.',
        examples: ['web-1'],
      }),
    ),
    enterprise_project_id: Type.Optional(
      Type.String({ description: 'Default "0", the default enterprise project.' }),
    ),
    tags: Type.Optional(
      checkedInCode(
        Type.Array(TagSchema, {
          description:
            "When given, the resource's tags become exactly these, under its service's key, value and count rules; when left out, its tags are kept.",
        }),
      ),
    ),
  },
  {
    additionalProperties: false,
    description: 'A resource its service can tag, registered (or renamed) by the seed.',
  },
);

/** Where the server serves the seed document's JSON Schema. */
export const SEED_SCHEMA_PATH = '/schemas/seed.json';

export const SeedDocument = Type.Object(
  {
    domains: Type.Optional(Type.Array(SeedDomain)),
    projects: Type.Optional(Type.Array(SeedProject)),
    users: Type.Optional(Type.Array(SeedUser)),
    resources: Type.Optional(Type.Array(SeedResource)),
  },
  {
    additionalProperties: false,
    title: 'tagplane seed document',
    description:
      'Domains, projects, users with their credentials, and resources with their tags. Loading a seed is an idempotent upsert in one transaction: a document with any fault is rejected whole, with a message naming the entry, and changes nothing. Every section may be left out, and entries may refer to what the database holds. Ids are optional everywhere: an entry without one is found by its name within its parent (a domain by its name), or created with a generated id; an entry names its parent by id (domain_id, project_id) or by name (domain_name; project_name with domain_name). The answer lists the id of every entry in document order. A field given as null counts as left out.',
    examples: [SEED_EXAMPLE],
  },
);

export type SeedDocumentBody = Static<typeof SeedDocument>;

/** How a field's rule is put in messages; a secret's value is never repeated. */
const RULE_TEXT: Record<string, { readonly text: string; readonly secret?: boolean }> = {
  id: { text: ID_TEXT },
  name: { text: '1–64 characters without control characters' },
  'resources.id': { text: '1–128 characters without / or control characters' },
  'resources.name': { text: 'a name without control characters' },
  domain_id: { text: 'an id without control characters' },
  domain_name: { text: 'a name without control characters' },
  project_id: { text: 'an id without control characters' },
  project_name: { text: 'a name without control characters' },
  access_key: { text: '4–128 letters and digits' },
  secret_key: { text: '8–256 printable ASCII characters without spaces', secret: true },
};

const TYPE_WORDS: Record<string, string> = {
  string: 'must be a string',
  boolean: 'must be true or false',
  array: 'must be an array',
};

/** An entry as messages name it: `users[0] (id 'u-dev')`, by its name when it has no id. */
function entryName(root: unknown, section: string, index: number): string {
  const entry = (root as Record<string, unknown[]>)[section]?.[index] as Record<
    string,
    unknown
  > | null;
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return entryLabel(section, index, { id: text(entry?.id), name: text(entry?.name) });
}

/** The message for a fault of the seed's shape, naming the entry and the field. */
function seedMessage(f: SchemaFailure, root: unknown): string {
  const [section, index, ...rest] = f.path;
  if (section === undefined) {
    return 'The seed must be a JSON object with domains, projects, users and resources.';
  }
  if (f.path.length === 1) {
    if (f.keyword === 'additionalProperties') {
      const known = Object.keys(SeedDocument.properties);
      return `seed: unknown field '${section}' (expected: ${known.join(', ')}).`;
    }
    return `'${section}' must be an array.`;
  }
  let where = entryName(root, String(section), Number(index));
  let path = rest;
  let notObject = 'must be an object.';
  if (path[0] === 'access_keys' && path.length >= 2) {
    where = `${where}.access_keys[${path[1]}]`;
    path = path.slice(2);
    notObject = 'must be an object with access_key and secret_key.';
  }
  const field = path[0];
  if (field === undefined) return `${where}: ${notObject}`;
  switch (f.keyword) {
    case 'additionalProperties': {
      const known = Object.keys((f.schema.properties ?? {}) as object);
      return `${where}: unknown field '${field}' (expected: ${known.join(', ')}).`;
    }
    case 'required':
      return `${where}: '${field}' is required.`;
    case 'type':
      return `${where}: '${field}' ${TYPE_WORDS[String(f.schema.type)]}.`;
  }
  if (field === 'password') return `${where}: 'password' must not be empty.`;
  const rule = RULE_TEXT[`${section}.${field}`] ?? RULE_TEXT[field];
  // A secret is not repeated: the message reaches the admin's terminal and logs.
  const shown = rule?.secret ? '' : ` ${JSON.stringify(f.value)}`;
  return `${where}: '${field}'${shown} must be ${rule?.text ?? 'valid'}.`;
}

/** The seed document's schema, compiled once for the admin API and the seed file. */
export const seedDocument = compileSchema(SeedDocument, {
  describe: seedMessage,
  // As the seed has always read: a field given as null is one left out.
  nullAsAbsent: 'everywhere',
});

type Entry = { readonly id?: string; readonly name?: string };

/** The domain an entry names: by `domain_id` or by `domain_name`, exactly one. */
function domainOf(
  e: Entry & { readonly domain_id?: string; readonly domain_name?: string },
  where: string,
): DomainRef {
  if (e.domain_id !== undefined && e.domain_name !== undefined) {
    throw new SeedError(`${where}: give 'domain_id' or 'domain_name', not both.`);
  }
  if (e.domain_id !== undefined) return { id: e.domain_id };
  if (e.domain_name !== undefined) return { name: e.domain_name };
  throw new SeedError(`${where}: its domain is required: give 'domain_id' or 'domain_name'.`);
}

/** The project a resource names: by `project_id`, or by `project_name` and `domain_name`. */
function projectOf(r: Static<typeof SeedResource>, where: string): ProjectRef {
  if (r.project_id !== undefined) {
    if (r.project_name !== undefined || r.domain_name !== undefined) {
      throw new SeedError(
        `${where}: give 'project_id', or 'project_name' with 'domain_name', not both.`,
      );
    }
    return { id: r.project_id };
  }
  if (r.project_name !== undefined && r.domain_name !== undefined) {
    return { name: r.project_name, domain: { name: r.domain_name } };
  }
  throw new SeedError(
    `${where}: its project is required: give 'project_id', or 'project_name' with 'domain_name'.`,
  );
}

const withId = (id: string | undefined) => (id !== undefined ? { id } : {});

/** A seed document in the domain's terms, once its shape is checked; a bad reference is a SeedError. */
export function seedInput(doc: SeedDocumentBody): SeedInput {
  return {
    domains: (doc.domains ?? []).map((d) => ({ ...withId(d.id), name: d.name })),
    projects: (doc.projects ?? []).map((p, i) => ({
      ...withId(p.id),
      name: p.name,
      domain: domainOf(p, entryLabel('projects', i, p)),
    })),
    users: (doc.users ?? []).map((u, i) => ({
      ...withId(u.id),
      name: u.name,
      domain: domainOf(u, entryLabel('users', i, u)),
      root: u.root ?? false,
      ...(u.password !== undefined ? { password: u.password } : {}),
      accessKeys: (u.access_keys ?? []).map((k) => ({
        accessKey: k.access_key,
        secretKey: k.secret_key,
      })),
      policies: u.policies ?? [],
    })),
    resources: (doc.resources ?? []).map((r, i) => ({
      project: projectOf(r, entryLabel('resources', i, r)),
      type: r.type,
      ...withId(r.id),
      name: r.name ?? '',
      enterpriseProjectId: r.enterprise_project_id ?? '0',
      ...(r.tags !== undefined ? { tags: r.tags } : {}),
    })),
  };
}

/** Reads a seed document given as parsed JSON (the seed file); a bad one is a SeedError. */
export function readSeedDocument(doc: unknown): SeedInput {
  // A seed file read at start-up meets the same identifier rule as the admin API's bodies.
  const problem = identifierFieldProblem(doc);
  if (problem) throw new SeedError(problem);
  const result = seedDocument.parse(doc);
  if (!result.ok) throw new SeedError(result.error.message);
  return seedInput(result.value);
}
