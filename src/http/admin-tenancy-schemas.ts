import { type Static, Type } from 'typebox';
import type { DomainRecord, ProjectRecord } from '../core/identity.js';
import { ID_PATTERN } from '../core/ids.js';
import { fieldMessages, ID_TEXT, NAME_RULE } from './admin-schemas.js';
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
  required: "'name' is required: 1–64 characters without line breaks.",
  type: "'name' must be a string of 1–64 characters without line breaks.",
  invalid: "'name' must be 1–64 characters without line breaks.",
};

const Id = (what: string) =>
  Type.String({ pattern: ID_PATTERN.source, description: `The ${what}'s id: ${ID_TEXT}.` });

export const domainParams = compileSchema(Type.Object({ domain_id: Id('domain') }), {
  describe: fieldMessages({ domain_id: idMessage('domain_id') }),
});

export const projectIdParams = compileSchema(Type.Object({ project_id: Id('project') }), {
  describe: fieldMessages({ project_id: idMessage('project_id') }),
});

/** A domain or project that exists need not have an id of today's rule: reset and delete take any. */
export const anyDomainParams = compileSchema(Type.Object({ domain_id: Type.String() }), {
  describe: fieldMessages(),
});

export const anyProjectParams = compileSchema(Type.Object({ project_id: Type.String() }), {
  describe: fieldMessages(),
});

export const putDomainBody = compileSchema(
  Type.Object(
    {
      name: Type.String({
        ...NAME_RULE,
        description:
          'Unique among domains (users log in with it): 1–64 characters without line breaks.',
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
          "A region name (eu-de) or a region's sub-project (eu-de_analytics), unique in its domain: 1–64 characters without line breaks.",
      }),
      domain_id: Type.String({
        description:
          'The domain it belongs to, which must exist. A project cannot move to another domain.',
      }),
    },
    { additionalProperties: false },
  ),
  { describe: fieldMessages({ name: nameMessage }) },
);

export const projectQuery = compileSchema(
  Type.Object({
    domain_id: Type.Optional(Type.String({ description: 'Only the projects of this domain.' })),
  }),
  { describe: fieldMessages() },
);
