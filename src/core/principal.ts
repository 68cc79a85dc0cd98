import type { UserRecord } from './identity.js';

/** Who is calling, once their credentials have been verified. */
export interface Principal {
  readonly userId: string;
  readonly userName: string;
  readonly domainId: string;
  readonly root: boolean;
  /** Identity policy documents of an IAM user. */
  readonly policies: readonly unknown[];
  /**
   * `project`: a project-scoped token, usable in that project only. `domain`: a domain-scoped
   * token. `signature`: an AK/SK-signed request, usable in any project of the user's domain.
   * `open`: `--auth open`, usable anywhere as the root user.
   */
  readonly scope:
    | { readonly kind: 'project'; readonly projectId: string }
    | { readonly kind: 'domain' }
    | { readonly kind: 'signature'; readonly accessKey: string }
    | { readonly kind: 'open' };
}

/** The principal of a verified user, acting under `scope`. */
export function principalOf(user: UserRecord, scope: Principal['scope']): Principal {
  return {
    userId: user.id,
    userName: user.name,
    domainId: user.domainId,
    root: user.root,
    policies: user.policies,
    scope,
  };
}
