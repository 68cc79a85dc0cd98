/*
 * The seed document's example, in its JSON Schema and the OpenAPI document; the README shows the
 * same document, and a test loads the README's.
 */

/** The example of the schema and of the README: every field, parents named by name. */
export const SEED_EXAMPLE = {
  domains: [{ name: 'acme' }],
  projects: [{ name: 'eu-de', domain_name: 'acme' }],
  users: [
    {
      name: 'root',
      domain_name: 'acme',
      root: true,
      password: 'change-me-too',
      access_keys: [{ access_key: 'AKACMEROOT0000000001', secret_key: 'change-me-0123456789' }],
    },
    {
      name: 'dev',
      domain_name: 'acme',
      password: 'change-me-three',
      policies: [
        {
          Version: '5.0',
          Statement: [
            {
              Effect: 'Allow',
              Action: ['bms:servers:*'],
              Condition: { StringEquals: { 'g:ResourceTag/env': 'dev' } },
            },
          ],
        },
      ],
    },
  ],
  resources: [
    {
      project_name: 'eu-de',
      domain_name: 'acme',
      type: 'bms_server',
      name: 'web-1',
      enterprise_project_id: '0',
      tags: [{ key: 'env', value: 'dev' }],
    },
    {
      project_name: 'eu-de',
      domain_name: 'acme',
      type: 'as_group',
      id: 'e5d27f5c-dd76-4a61-b4bc-a67c5686719a',
      name: 'web-asg',
      tags: [{ key: 'env', value: 'dev' }],
    },
  ],
};
