import { randomUUID } from 'node:crypto';
import { hashPassword } from '../auth/passwords.js';
import { compilePolicy, PolicyError } from '../auth/policy-evaluator.js';
import type { SecretBox } from '../auth/secret-box.js';
import { AppError } from '../core/app-error.js';
import type { AccessKeyRecord } from '../core/identity.js';
import { LETTERS_DIGITS, randomString } from '../core/random.js';
import type { Store } from '../store/database.js';
import {
  deleteAccessKey,
  deleteUser,
  findAccessKey,
  findDomainById,
  findUserById,
  findUserByName,
  insertUser,
  listAccessKeys,
  listUsers,
  setUserPasswordHash,
  setUserPolicies,
  type UserListing,
  upsertAccessKey,
} from '../store/identity-store.js';

/** An access key id in the cloud's form: 20 upper-case letters and digits. */
export const generateAccessKey = () => randomString(20);
/** A secret key: 40 letters and digits (about 238 bits). */
export const generateSecretKey = () => randomString(40, LETTERS_DIGITS);

/** A user as the admin API shows it: never a password hash or a secret key. */
export interface UserDetails {
  readonly id: string;
  readonly name: string;
  readonly domainId: string;
  readonly root: boolean;
  readonly passwordSet: boolean;
  readonly policies: readonly unknown[];
  readonly accessKeys: readonly AccessKeyDetails[];
  readonly createdAt: string;
}

export interface AccessKeyDetails {
  readonly accessKey: string;
  readonly userId: string;
  readonly createdAt: string;
}

/** A new access key: the only answer that ever carries the secret key. */
export interface CreatedAccessKey extends AccessKeyDetails {
  readonly secretKey: string;
}

/** A user to create; its shape is checked by the admin API's schema. */
export interface NewUser {
  /** Default: a generated one. */
  readonly id?: string;
  readonly name: string;
  readonly domainId: string;
  readonly root?: boolean;
  readonly password?: string;
  /** Identity policy documents, checked here. */
  readonly policies?: readonly unknown[];
}

function keyDetails(k: AccessKeyRecord): AccessKeyDetails {
  return { accessKey: k.accessKey, userId: k.userId, createdAt: k.createdAt };
}

function userDetails(u: UserListing, keys: readonly AccessKeyRecord[]): UserDetails {
  return {
    id: u.id,
    name: u.name,
    domainId: u.domainId,
    root: u.root,
    passwordSet: u.passwordHash !== null,
    policies: u.policies,
    accessKeys: keys.filter((k) => k.userId === u.id).map(keyDetails),
    createdAt: u.createdAt,
  };
}

/** Validates a policy document as it is written; the message names the bad part. */
function checkPolicy(doc: unknown, where: string): unknown {
  try {
    compilePolicy(doc, where);
  } catch (err) {
    if (err instanceof PolicyError) throw new AppError('invalid_parameter', err.message);
    throw err;
  }
  return doc;
}

const checkPolicies = (docs: readonly unknown[]) =>
  docs.map((doc, i) => checkPolicy(doc, `policies[${i}]`));

/**
 * Users, their identity policies and their access keys, for the admin API. Secret keys are
 * sealed under the master key and passwords hashed before they are stored; no answer but the
 * one creating an access key carries a secret.
 */
export class CredentialAdmin {
  constructor(
    private readonly store: Store,
    private readonly secrets: SecretBox,
    private readonly now: () => string = () => new Date().toISOString(),
  ) {}

  private async details(id: string): Promise<UserDetails> {
    const [user] = await listUsers(this.store.db, { id });
    if (!user) throw new AppError('resource_not_found', `User '${id}' does not exist.`);
    return userDetails(user, await listAccessKeys(this.store.db, [id]));
  }

  private async requireUser(id: string) {
    const user = await findUserById(this.store.db, id);
    if (!user) throw new AppError('resource_not_found', `User '${id}' does not exist.`);
    return user;
  }

  async listUsers(domainId?: string): Promise<UserDetails[]> {
    const users = await listUsers(this.store.db, domainId === undefined ? {} : { domainId });
    const keys = await listAccessKeys(
      this.store.db,
      users.map((u) => u.id),
    );
    return users.map((u) => userDetails(u, keys));
  }

  getUser(id: string): Promise<UserDetails> {
    return this.details(id);
  }

  async createUser(input: NewUser): Promise<UserDetails> {
    const id = input.id ?? randomUUID().replace(/-/g, '');
    const { name, domainId } = input;
    const root = input.root ?? false;
    const policies = checkPolicies(input.policies ?? []);
    const passwordHash = input.password === undefined ? null : await hashPassword(input.password);

    await this.store.transaction(async (tx) => {
      if (!(await findDomainById(tx, domainId))) {
        throw new AppError('resource_not_found', `Domain '${domainId}' does not exist.`);
      }
      if (await findUserById(tx, id))
        throw new AppError('conflict', `User '${id}' already exists.`);
      if (await findUserByName(tx, domainId, name)) {
        throw new AppError('conflict', `Domain '${domainId}' already has a user named '${name}'.`);
      }
      // Another creation of this id may have committed since the look-up above.
      if (!(await insertUser(tx, { id, domainId, name, root, passwordHash, policies }, this.now())))
        throw new AppError('conflict', `User '${id}' already exists.`);
    });
    return this.details(id);
  }

  async deleteUser(id: string): Promise<void> {
    const gone = await this.store.transaction((tx) => deleteUser(tx, id));
    if (!gone) throw new AppError('resource_not_found', `User '${id}' does not exist.`);
  }

  /** Replaces the user's policy documents. */
  async setPolicies(id: string, docs: readonly unknown[]): Promise<UserDetails> {
    const policies = checkPolicies(docs);
    await this.requireUser(id);
    await this.store.transaction((tx) => setUserPolicies(tx, id, policies));
    return this.details(id);
  }

  /** Attaches one more policy document. */
  async attachPolicy(id: string, doc: unknown): Promise<UserDetails> {
    checkPolicy(doc, 'policy');
    await this.store.transaction(async (tx) => {
      const user = await findUserById(tx, id);
      if (!user) throw new AppError('resource_not_found', `User '${id}' does not exist.`);
      await setUserPolicies(tx, id, [...user.policies, doc]);
    });
    return this.details(id);
  }

  async setPassword(id: string, password: string): Promise<void> {
    const hash = await hashPassword(password);
    await this.requireUser(id);
    await this.store.transaction((tx) => setUserPasswordHash(tx, id, hash));
  }

  async createAccessKey(userId: string): Promise<CreatedAccessKey> {
    const secretKey = generateSecretKey();
    const record = await this.store.transaction(async (tx) => {
      if (!(await findUserById(tx, userId))) {
        throw new AppError('resource_not_found', `User '${userId}' does not exist.`);
      }
      let accessKey = generateAccessKey();
      while (await findAccessKey(tx, accessKey)) accessKey = generateAccessKey();
      const k: AccessKeyRecord = {
        accessKey,
        userId,
        secretCiphertext: this.secrets.seal(secretKey),
        createdAt: this.now(),
      };
      await upsertAccessKey(tx, k);
      return k;
    });
    return { ...keyDetails(record), secretKey };
  }

  async listAccessKeys(userId: string): Promise<AccessKeyDetails[]> {
    await this.requireUser(userId);
    return (await listAccessKeys(this.store.db, [userId])).map(keyDetails);
  }

  async deleteAccessKey(userId: string, accessKey: string): Promise<void> {
    const gone = await this.store.transaction((tx) => deleteAccessKey(tx, userId, accessKey));
    if (!gone) {
      throw new AppError(
        'resource_not_found',
        `User '${userId}' has no access key '${accessKey}'.`,
      );
    }
  }
}
