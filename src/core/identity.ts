/**
 * The identity records the auth layer works with: tenants (domains) with their projects, users
 * and access keys. How they are stored (column names, encodings) is the store's business.
 */

export interface DomainRecord {
  readonly id: string;
  readonly name: string;
}

export interface ProjectRecord {
  readonly id: string;
  readonly name: string;
  readonly domainId: string;
}

export interface UserRecord {
  readonly id: string;
  readonly domainId: string;
  readonly name: string;
  readonly root: boolean;
  readonly passwordHash: string | null;
  /** Identity policy documents, as stored (validated when written). */
  readonly policies: unknown[];
  /**
   * Carried by every token of the user: the store sets a new one when the user is created and
   * when its password changes (absent on a record being written).
   */
  readonly tokenEpoch?: string;
}

export interface AccessKeyRecord {
  readonly accessKey: string;
  readonly userId: string;
  /** The secret key, sealed under the master key: only the auth layer opens it. */
  readonly secretCiphertext: string;
  readonly createdAt: string;
}
