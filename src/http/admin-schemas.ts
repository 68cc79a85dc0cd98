import { type Static, type TSchema, Type } from 'typebox';
import type { AccessKeyDetails, CreatedAccessKey, UserDetails } from '../admin/credentials.js';
import type { ResourceWithTags } from '../admin/resources.js';
import type { SeedResult } from '../admin/seed.js';
import { ID_PATTERN, RESOURCE_ID_PATTERN } from '../core/ids.js';
import { RESOURCE_TYPES } from '../services/registry.js';
import { TagSchema } from './service-schemas.js';
import {
  checkedInCode,
  compileSchema,
  type Describe,
  matching,
  type SchemaFailure,
} from './validation.js';

/*
 * The admin API's wire formats: request schemas (validated, typed and documented from one
 * definition), the messages a request that fails them is answered with, and the snake_case
 * bodies built from the domain's results.
 */

export const AdminError = Type.Object({
  error_code: Type.String(),
  error_msg: Type.String(),
  request_id: Type.String(),
});

/**
 * No control character (a line break, a NUL): none belongs in a name or an id, and PostgreSQL
 * text cannot even hold a NUL, so such a value is refused before it reaches the store.
 */
export const NO_CONTROL = '^[^\\u0000-\\u001f\\u007f]*$';

/** 1–64 characters without a line break or another control character. */
export const NAME_RULE = { minLength: 1, maxLength: 64, pattern: NO_CONTROL } as const;

/** How ids of domains, projects and users are described in messages. */
export const ID_TEXT = '1–64 characters of A-Z a-z 0-9 _ -';

export const PolicyDocument = Type.Object(
  {
    Version: Type.Optional(Type.String({ description: '"5.0"' })),
    Statement: Type.Array(
      Type.Object({
        Sid: Type.Optional(Type.String()),
        Effect: Type.Union([Type.Literal('Allow'), Type.Literal('Deny')]),
        Action: Type.Union([Type.String(), Type.Array(Type.String())], {
          description: 'Action names or patterns with * wildcards, e.g. "bms:servers:*".',
        }),
        Resource: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])),
        Condition: Type.Optional(
          Type.Record(Type.String(), Type.Record(Type.String(), Type.Unknown()), {
            description:
              'Operator → condition key → value(s). Operators: StringEquals, StringNotEquals, StringLike, StringNotLike, Null, with optional ForAllValues:/ForAnyValue: prefixes. Keys: g:ResourceTag/<key>, g:RequestTag/<key>, g:TagKeys, g:EnterpriseProjectId.',
          }),
        ),
      }),
    ),
  },
  { description: 'An identity policy document; validated when written.' },
);

/**
 * A policy document as a request carries it: documented by its schema, checked by the policy
 * evaluator, whose messages name the statement and the operator at fault.
 */
export const PolicyInput = checkedInCode(PolicyDocument);

type MessageFor = string | ((value: unknown) => string);

/** What a field's faults are answered with; unset ones get the admin API's usual wording. */
export interface FieldMessages {
  readonly required?: MessageFor;
  readonly type?: MessageFor;
  /** Any other fault: a pattern, a length, a value not listed. */
  readonly invalid?: MessageFor;
}

const TYPE_WORDS: Record<string, string> = {
  string: 'must be a string',
  boolean: 'must be true or false',
  array: 'must be an array',
  object: 'must be an object',
};

const say = (m: MessageFor, value: unknown) => (typeof m === 'string' ? m : m(value));

/**
 * Messages for a flat object (a body, the parameters, the query): `'<field>' must be a string.`,
 * `'<field>' is required.`, `Unknown field '<field>' (expected: …).`, or the field's own.
 */
export function fieldMessages(fields: Record<string, FieldMessages> = {}): Describe {
  return (f: SchemaFailure) => {
    const field = String(f.path[0]);
    if (f.keyword === 'additionalProperties') {
      const known = Object.keys((f.schema.properties ?? {}) as object);
      return `Unknown field '${field}' (expected: ${known.join(', ')}).`;
    }
    const m = fields[field] ?? {};
    if (f.keyword === 'required') return say(m.required ?? `'${field}' is required.`, f.value);
    if (f.keyword === 'type') {
      return say(m.type ?? `'${field}' ${TYPE_WORDS[String(f.schema.type)]}.`, f.value);
    }
    return say(m.invalid ?? `'${field}' is not valid.`, f.value);
  };
}

const compile = <T extends TSchema>(schema: T, fields?: Record<string, FieldMessages>) =>
  compileSchema(schema, { describe: fieldMessages(fields) });

// Resources.

export const ResourceSchema = Type.Object({
  project_id: Type.String(),
  type: Type.String(),
  id: Type.String(),
  name: Type.String(),
  enterprise_project_id: Type.String(),
  created_at: Type.String(),
  tags: Type.Array(TagSchema),
});

const ResourceTypeSchema = Type.Union(RESOURCE_TYPES.map((t) => Type.Literal(t)));

const unknownType = (type: unknown) =>
  `Unknown resource type '${type}'; expected one of ${RESOURCE_TYPES.join(', ')}.`;

/** A resource in a path, to register: its id is one a URL path can carry. */
export const registerParams = compile(
  Type.Object({
    project_id: Type.String(),
    type: ResourceTypeSchema,
    id: matching(Type.String(), RESOURCE_ID_PATTERN),
  }),
  {
    type: { invalid: unknownType },
    id: { invalid: 'The resource id must be 1–128 characters.' },
  },
);

/** A resource in a path, to deregister: any id, as one never registered is simply not found. */
export const resourceParams = compile(
  Type.Object({ project_id: Type.String(), type: ResourceTypeSchema, id: Type.String() }),
  { type: { invalid: unknownType } },
);

export const registerBody = compile(
  Type.Object({
    name: Type.Optional(Type.String()),
    enterprise_project_id: Type.Optional(Type.String()),
  }),
);

export const projectParams = compile(Type.Object({ project_id: Type.String() }));

export const resourceQuery = compile(Type.Object({ type: Type.Optional(ResourceTypeSchema) }), {
  type: { type: unknownType, invalid: unknownType },
});

export function resourceJson(r: ResourceWithTags): Static<typeof ResourceSchema> {
  return {
    project_id: r.projectId,
    type: r.type,
    id: r.resourceId,
    name: r.name,
    enterprise_project_id: r.enterpriseProjectId,
    created_at: r.createdAt,
    tags: r.tags,
  };
}

const Ids = (what: string) =>
  Type.Array(Type.String(), {
    description: `The id of every entry of '${what}', in document order: given, found by name, or generated.`,
  });

export const SeedAnswerSchema = Type.Object({
  ids: Type.Object({
    domains: Ids('domains'),
    projects: Ids('projects'),
    users: Ids('users'),
    resources: Ids('resources'),
  }),
});

export function seedAnswerJson(s: SeedResult): Static<typeof SeedAnswerSchema> {
  const { domains, projects, users, resources } = s.ids;
  return {
    ids: {
      domains: [...domains],
      projects: [...projects],
      users: [...users],
      resources: [...resources],
    },
  };
}

// Users and access keys.

export const AccessKeyView = Type.Object({
  access_key: Type.String(),
  user_id: Type.String(),
  created_at: Type.String(),
});

export const UserView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  domain_id: Type.String(),
  root: Type.Boolean(),
  password_set: Type.Boolean({ description: 'Whether the user has a password (never the hash).' }),
  policies: Type.Array(PolicyDocument),
  access_keys: Type.Array(AccessKeyView, { description: 'Access key ids; never the secrets.' }),
  created_at: Type.String(),
});

export const CreatedAccessKeyView = Type.Object({
  access_key: Type.String(),
  secret_key: Type.String(),
  user_id: Type.String(),
  created_at: Type.String(),
});

export function accessKeyJson(k: AccessKeyDetails): Static<typeof AccessKeyView> {
  return { access_key: k.accessKey, user_id: k.userId, created_at: k.createdAt };
}

export function createdAccessKeyJson(k: CreatedAccessKey): Static<typeof CreatedAccessKeyView> {
  return {
    access_key: k.accessKey,
    secret_key: k.secretKey,
    user_id: k.userId,
    created_at: k.createdAt,
  };
}

export function userJson(u: UserDetails): Static<typeof UserView> {
  return {
    id: u.id,
    name: u.name,
    domain_id: u.domainId,
    root: u.root,
    password_set: u.passwordSet,
    // Stored as validated when written; the schema documents the shape.
    policies: u.policies as Static<typeof PolicyDocument>[],
    access_keys: u.accessKeys.map(accessKeyJson),
    created_at: u.createdAt,
  };
}

const PASSWORD_MESSAGE = "'password' must be a non-empty string of at most 1024 characters.";
const password: FieldMessages = {
  required: PASSWORD_MESSAGE,
  type: PASSWORD_MESSAGE,
  invalid: PASSWORD_MESSAGE,
};
const POLICIES_MESSAGE = "'policies' must be an array of policy documents.";
const policies: FieldMessages = { required: POLICIES_MESSAGE, type: POLICIES_MESSAGE };

const Password = Type.String({ minLength: 1, maxLength: 1024 });

export const createUserBody = compileSchema(
  Type.Object(
    {
      id: Type.Optional(Type.String({ pattern: ID_PATTERN.source })),
      name: Type.String({
        ...NAME_RULE,
        description: 'Unique in its domain: 1–64 characters without control characters.',
      }),
      domain_id: Type.String(),
      root: Type.Optional(Type.Boolean({ description: 'A root user may do everything.' })),
      password: Type.Optional(Password),
      policies: Type.Optional(Type.Array(PolicyInput)),
    },
    { additionalProperties: false },
  ),
  {
    describe: fieldMessages({
      id: { invalid: `'id' must be ${ID_TEXT}.` },
      name: {
        required: "'name' is required: 1–64 characters.",
        invalid: "'name' is required: 1–64 characters.",
      },
      password,
      policies,
    }),
    // In these fields null stands for "not given": a generated id, a user that is not root.
    nullAsAbsent: ['id', 'name', 'domain_id', 'root'],
  },
);

export const setPoliciesBody = compile(Type.Object({ policies: Type.Array(PolicyInput) }), {
  policies,
});

export const attachPolicyBody = compile(PolicyInput);

export const setPasswordBody = compile(Type.Object({ password: Password }), { password });

export const userParams = compile(Type.Object({ user_id: Type.String() }));

export const accessKeyParams = compile(
  Type.Object({ user_id: Type.String(), access_key: Type.String() }),
);

export const userQuery = compile(Type.Object({ domain_id: Type.Optional(Type.String()) }));
