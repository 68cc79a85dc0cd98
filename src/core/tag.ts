/** A tag as every API shows it: a key and its value ("" when it has none). */
export interface Tag {
  readonly key: string;
  readonly value: string;
}

/** A tag named for deletion: without a value it matches by key alone. */
export interface TagSelector {
  readonly key: string;
  readonly value?: string;
}
