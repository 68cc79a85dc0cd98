import type { Generated } from 'kysely';

/** Table shapes as the store sees them. Booleans are integers 0/1 on both databases. */
export interface SettingsTable {
  name: string;
  value: string;
}

export interface DomainsTable {
  id: string;
  name: string;
  created_at: string;
}

export interface ProjectsTable {
  id: string;
  domain_id: string;
  name: string;
  created_at: string;
}

export interface UsersTable {
  id: string;
  domain_id: string;
  name: string;
  is_root: number;
  /** scrypt hash in the form `scrypt$N$r$p$salt$hash`; null when the user has no password. */
  password_hash: string | null;
  /** JSON array of identity policy documents. */
  policies: string;
  created_at: string;
  /** Carried by every token of the user; new at creation and at each password change (0008). */
  token_epoch: string;
}

export interface AccessKeysTable {
  access_key: string;
  user_id: string;
  /** The secret key, encrypted under the master key. */
  secret_ciphertext: string;
  created_at: string;
}

export interface ResourcesTable {
  /** Surrogate id; allocation order is registration order (see resources-store.ts). */
  rid: Generated<number>;
  project_id: string;
  resource_type: string;
  resource_id: string;
  name: string;
  enterprise_project_id: string;
  created_at: string;
}

export interface TagsTable {
  project_id: string;
  rid: number;
  resource_type: string;
  key: string;
  value: string;
}

/** Named values of a resource besides its tags (migration 0006); they go with the resource. */
export interface ResourceAttributesTable {
  project_id: string;
  rid: number;
  name: string;
  value: string;
}

/** A user's recent failed logins and lock (migration 0007). */
export interface LoginFailuresTable {
  user_id: string;
  /** Epoch milliseconds of the failures still in the window, comma-separated, oldest first. */
  failed_at: string;
  /** Epoch milliseconds; 0 or past: not locked. */
  locked_until: number;
}

/** An access key's consecutive signature failures and lock (migration 0007). */
export interface AccessKeyFailuresTable {
  access_key: string;
  failures: number;
  /** Epoch milliseconds; 0 or past: not locked. */
  locked_until: number;
}

/** The change log (migration 0009): one row per changed resource. */
export interface EventsTable {
  /**
   * Assigned by the store: in commit order on SQLite (migration 0009); on PostgreSQL in the order
   * of the writing transactions' ids, read up to a horizon (migration 0013).
   */
  id: Generated<number | string>;
  time: string;
  domain_id: string;
  project_id: string;
  resource_type: string;
  resource_id: string;
  service: string;
  operation: string;
  principal_type: string;
  user_id: string | null;
  user_name: string | null;
  access_key: string | null;
  source_ip: string;
  request_id: string;
  /** JSON array of `{key, old, new}`, in that member order. */
  changes: string;
  /**
   * PostgreSQL only (migration 0019): the key of `events_resource_key`, a hash of `resource_id`
   * (see `resourceKey` in events-store.ts); an insert into the view `events` that does not give
   * it has it filled by the view's trigger.
   */
  resource_key: Generated<string>;
}

/**
 * SQLite only (migration 0014): which events each resource has, filled in the background by the
 * indexer up to `event_indexes_mark.indexed_through` (see deferred-event-index.ts).
 */
export interface EventResourceIndexTable {
  /** `indexKey(resource_id)`: a hash, so rows found must be checked against the event. */
  resource_key: number;
  event_id: number;
}

/** SQLite only (migration 0015): the change log by project, filled like the one by resource. */
export interface EventProjectIndexTable {
  /** `indexKey(project_id)`: a hash, so rows found must be checked against the event. */
  project_key: number;
  event_id: number;
}

/** SQLite only (migration 0015): the change log by time, filled like the one by resource. */
export interface EventTimeIndexTable {
  time: string;
  event_id: number;
}

/** SQLite only (migrations 0014, 0015): one row, the id up to which every event is indexed. */
export interface EventIndexMarkTable {
  one: number;
  indexed_through: number;
}

/** Tokens revoked one by one, until they would have expired (migration 0008). */
export interface RevokedTokensTable {
  /** Hex SHA-256 of the token. */
  token_hash: string;
  /** Epoch milliseconds. */
  expires_at: number;
}

/** An injected fault (migration 0010). */
export interface FaultsTable {
  id: string;
  /** Creation order. */
  seq: number;
  /** JSON: what requests it matches. */
  match: string;
  /** JSON: the error it answers; null: a delay only. */
  error: string | null;
  latency_ms: number;
  probability: number;
  /** How many times it may fire; null: unlimited. */
  max_count: number | null;
  fired: number;
  ttl_s: number | null;
  /** Epoch milliseconds; null: never. */
  expires_at: number | null;
  /** Epoch milliseconds. */
  created_at: number;
}

export interface Database {
  settings: SettingsTable;
  domains: DomainsTable;
  projects: ProjectsTable;
  users: UsersTable;
  access_keys: AccessKeysTable;
  resources: ResourcesTable;
  tags: TagsTable;
  resource_attributes: ResourceAttributesTable;
  login_failures: LoginFailuresTable;
  access_key_failures: AccessKeyFailuresTable;
  events: EventsTable;
  /**
   * PostgreSQL only (migration 0019): the table behind the view `events`, with no trigger: an
   * event inserted here brings its id and key (see `firstLockEventValues`).
   */
  event_log: EventsTable;
  event_resource_index: EventResourceIndexTable;
  event_project_index: EventProjectIndexTable;
  event_time_index: EventTimeIndexTable;
  event_index_mark: EventIndexMarkTable;
  event_indexes_mark: EventIndexMarkTable;
  revoked_tokens: RevokedTokensTable;
  faults: FaultsTable;
}
