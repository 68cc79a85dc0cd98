/**
 * What went wrong, independent of any service. Domain code throws a TagError with a kind and a
 * precise message; the service profile's error table maps the kind to its own code and status.
 */
export type TagErrorKind =
  | 'body_malformed'
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
  | 'invalid_parameter'
  | 'resource_not_found'
  /** Admin API: the thing to create exists already. */
  | 'conflict'
  | 'forbidden';

export class TagError extends Error {
  constructor(
    readonly kind: TagErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'TagError';
  }
}
