/**
 * What went wrong, independent of any API. Code at every layer below http/ throws an AppError
 * with a kind and a precise message; the catalogue of the API a route belongs to (a service
 * profile's error table, the cross-service API's, the admin or IAM envelope) maps the kind to its
 * own code and status.
 */
export type AppErrorKind =
  | 'body_malformed'
  /** The body is empty or absent. */
  | 'body_empty'
  | 'media_type'
  | 'tags_missing'
  | 'too_many_in_request'
  | 'tag_malformed'
  | 'action_invalid'
  | 'resource_type_invalid'
  | 'key_missing'
  | 'key_empty'
  | 'key_type'
  | 'key_too_long'
  | 'key_invalid'
  | 'value_missing'
  | 'value_type'
  | 'value_too_long'
  | 'value_invalid'
  | 'duplicate_key'
  | 'too_many_tags'
  | 'tag_exists'
  | 'tag_absent'
  | 'query_invalid'
  /** A query's `matches` list is not as documented. */
  | 'query_matches_invalid'
  /** A key of a query's condition list names one value twice. */
  | 'query_duplicate_value'
  | 'invalid_parameter'
  | 'resource_not_found'
  /** Admin API: the thing to create exists already. */
  | 'conflict'
  /** An identity policy refuses the action. */
  | 'forbidden'
  /**
   * The project in the URL is not the one the credentials are scoped to (a token of another
   * project, a domain-scoped token on a project route).
   */
  | 'scope_project'
  /** The project in the URL is not in the caller's domain (or does not exist). */
  | 'scope_domain';

/** Facts a catalogue's message template may quote (`{resource_id}`, `{action}`). */
export interface AppErrorDetails {
  /** The resource the request addresses. */
  readonly resourceId?: string;
  /** The identity-policy action refused, or the one the request needed. */
  readonly action?: string;
  /**
   * What the caller can do about it, added after the message in every catalogue (a fixed
   * message of the service's own comes first, as the service words it).
   */
  readonly hint?: string;
}

export class AppError extends Error {
  constructor(
    readonly kind: AppErrorKind,
    message: string,
    readonly details: AppErrorDetails = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}
