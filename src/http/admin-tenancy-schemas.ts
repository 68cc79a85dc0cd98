import { type Static, Type } from 'typebox';
import type { DomainRecord, ProjectRecord } from '../core/identity.js';
import { ID_PATTERN } from '../core/ids.js';
import { fieldMessages, ID_TEXT, NAME_RULE, NO_CONTROL } from './admin-schemas.js';
import { compileSchema } from './validation.js';

/* The admin API's domains and projects: request schemas and the bodies answered. */

export const DomainView = Type.Object({
  id: Type.String(),
  name: Type.String(),
});

export const ProjectView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  domain_id: Type.String(),
});

export function domainJson(d: DomainRecord): Static<typeof DomainView> {
  return { id: d.id, name: d.name };
}

export function projectJson(p: ProjectRecord): Static<typeof ProjectView> {
  return { id: p.id, name: p.name, domain_id: p.domainId };
}

const idMessage = (field: string) => ({ invalid: `'${field}' must be ${ID_TEXT}.` });
const nameMessage = {
  required: "'name' is required: 1–64 characters without control characters.",
  type: "'name' must be a string of 1–64 characters without control characters.",
  invalid: "'name' must be 1–64 characters without control characters.",
};

const noControl = (field: string) => ({
  invalid: `'${field}' must not hold control characters.`,
});

/** An id to look up: any text, as one that exists need not follow today's rule, but plain. */
const AnyId = (description?: string) =>
  Type.String({ pattern: NO_CONTROL, ...(description ? { description } : {}) });

const Id = (what: string) =>
  Type.String({ pattern: ID_PATTERN.source, description: `The ${what}'s id: ${ID_TEXT}.` });

export const domainParams = compileSchema(Type.Object({ domain_id: Id('domain') }), {
  describe: fieldMessages({ domain_id: idMessage('domain_id') }),
});

export const projectIdParams = compileSchema(Type.Object({ project_id: Id('project') }), {
  describe: fieldMessages({ project_id: idMessage('project_id') }),
});

/** A domain or project that exists need not have an id of today's rule: reset and delete take any. */
export const anyDomainParams = compileSchema(Type.Object({ domain_id: AnyId() }), {
  describe: fieldMessages({ domain_id: noControl('domain_id') }),
});

export const anyProjectParams = compileSchema(Type.Object({ project_id: AnyId() }), {
  describe: fieldMessages({ project_id: noControl('project_id') }),
});

export const putDomainBody = compileSchema(
  Type.Object(
    {
      name: Type.String({
        ...NAME_RULE,
        description:
          'Unique among domains (users log in with it): 1–64 characters without control characters.',
      }),
    },
    { additionalProperties: false },
  ),
  { describe: fieldMessages({ name: nameMessage }) },
);

export const putProjectBody = compileSchema(
  Type.Object(
    {
      name: Type.String({
        ...NAME_RULE,
        description:
          "A region name (eu-de) or a region's sub-project (eu-de_analytics), unique in its domain: 1–64 characters without control characters.",
      }),
      domain_id: AnyId(
        'The domain it belongs to, which must exist. A project cannot move to another domain.',
      ),
    },
    { additionalProperties: false },
  ),
  { describe: fieldMessages({ name: nameMessage, domain_id: noControl('domain_id') }) },
);

export const projectQuery = compileSchema(
  Type.Object({
    domain_id: Type.Optional(AnyId('Only the projects of this domain.')),
  }),
  { describe: fieldMessages({ domain_id: noControl('domain_id') }) },
);
