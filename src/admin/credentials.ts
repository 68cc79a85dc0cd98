import { randomUUID } from 'node:crypto';
import { hashPassword } from '../auth/passwords.js';
import { compilePolicy, PolicyError } from '../auth/policy-evaluator.js';
import type { SecretBox } from '../auth/secret-box.js';
import { AppError } from '../core/app-error.js';
import type { AccessKeyRecord } from '../core/identity.js';
import { ID_PATTERN } from '../core/ids.js';
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
import type { JsonObject } from '../tags/tag-input.js';

/** An access key id in the cloud's form: 20 upper-case letters and digits. */
export const generateAccessKey = () => randomString(20);
/** A secret key: 40 letters and digits (about 238 bits). */
export const generateSecretKey = () => randomString(40, LETTERS_DIGITS);

/** A user as the admin API shows it: never a password hash or a secret key. */
export interface UserView {
  readonly id: string;
  readonly name: string;
  readonly domain_id: string;
  readonly root: boolean;
  readonly password_set: boolean;
  readonly policies: readonly unknown[];
  readonly access_keys: readonly AccessKeyView[];
  readonly created_at: string;
}

export interface AccessKeyView {
  readonly access_key: string;
  readonly user_id: string;
  readonly created_at: string;
}

/** A new access key: the only answer that ever carries the secret key. */
export interface CreatedAccessKey extends AccessKeyView {
  readonly secret_key: string;
}

function keyView(k: AccessKeyRecord): AccessKeyView {
  return { access_key: k.accessKey, user_id: k.userId, created_at: k.createdAt };
}

function userView(u: UserListing, keys: readonly AccessKeyRecord[]): UserView {
  return {
    id: u.id,
    name: u.name,
    domain_id: u.domainId,
    root: u.root,
    password_set: u.passwordHash !== null,
    policies: u.policies,
    access_keys: keys.filter((k) => k.userId === u.id).map(keyView),
    created_at: u.createdAt,
  };
}

const invalid = (message: string) => new AppError('invalid_parameter', message);

function optionalString(body: JsonObject, field: string): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(`'${field}' must be a string.`);
  return v;
}

function checkPassword(v: unknown): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 1024) {
    throw invalid("'password' must be a non-empty string of at most 1024 characters.");
  }
  return v;
}

/** Validates policy documents as they are written; the message names the bad document. */
export function checkPolicies(v: unknown, field = 'policies'): unknown[] {
  if (!Array.isArray(v)) throw invalid(`'${field}' must be an array of policy documents.`);
  return v.map((doc, i) => checkPolicy(doc, `${field}[${i}]`));
}

export function checkPolicy(doc: unknown, where = 'policy'): unknown {
  try {
    compilePolicy(doc, where);
  } catch (err) {
    if (err instanceof PolicyError) throw invalid(err.message);
    throw err;
  }
  return doc;
}

const BODY_FIELDS = ['id', 'name', 'domain_id', 'root', 'password', 'policies'];

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

  private async view(id: string): Promise<UserView> {
    const [user] = await listUsers(this.store.db, { id });
    if (!user) throw new AppError('resource_not_found', `User '${id}' does not exist.`);
    return userView(user, await listAccessKeys(this.store.db, [id]));
  }

  private async requireUser(id: string) {
    const user = await findUserById(this.store.db, id);
    if (!user) throw new AppError('resource_not_found', `User '${id}' does not exist.`);
    return user;
  }

  async listUsers(domainId?: string): Promise<UserView[]> {
    const users = await listUsers(this.store.db, domainId === undefined ? {} : { domainId });
    const keys = await listAccessKeys(
      this.store.db,
      users.map((u) => u.id),
    );
    return users.map((u) => userView(u, keys));
  }

  getUser(id: string): Promise<UserView> {
    return this.view(id);
  }

  async createUser(body: JsonObject): Promise<UserView> {
    for (const k of Object.keys(body)) {
      if (!BODY_FIELDS.includes(k)) {
        throw invalid(`Unknown field '${k}' (expected: ${BODY_FIELDS.join(', ')}).`);
      }
    }
    const id = optionalString(body, 'id') ?? randomUUID().replace(/-/g, '');
    if (!ID_PATTERN.test(id)) throw invalid(`'id' must be 1–64 characters of A-Z a-z 0-9 _ -.`);
    const name = optionalString(body, 'name');
    if (name === undefined || !/^.{1,64}$/u.test(name)) {
      throw invalid("'name' is required: 1–64 characters.");
    }
    const domainId = optionalString(body, 'domain_id');
    if (domainId === undefined) throw invalid("'domain_id' is required.");
    const root = body.root ?? false;
    if (typeof root !== 'boolean') throw invalid("'root' must be true or false.");
    const policies = body.policies === undefined ? [] : checkPolicies(body.policies);
    const password = body.password === undefined ? undefined : checkPassword(body.password);
    const passwordHash = password === undefined ? null : await hashPassword(password);

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
    return this.view(id);
  }

  async deleteUser(id: string): Promise<void> {
    const gone = await this.store.transaction((tx) => deleteUser(tx, id));
    if (!gone) throw new AppError('resource_not_found', `User '${id}' does not exist.`);
  }

  /** Replaces the user's policy documents. */
  async setPolicies(id: string, docs: unknown): Promise<UserView> {
    const policies = checkPolicies(docs);
    await this.requireUser(id);
    await this.store.transaction((tx) => setUserPolicies(tx, id, policies));
    return this.view(id);
  }

  /** Attaches one more policy document. */
  async attachPolicy(id: string, doc: unknown): Promise<UserView> {
    checkPolicy(doc);
    await this.store.transaction(async (tx) => {
      const user = await findUserById(tx, id);
      if (!user) throw new AppError('resource_not_found', `User '${id}' does not exist.`);
      await setUserPolicies(tx, id, [...user.policies, doc]);
    });
    return this.view(id);
  }

  async setPassword(id: string, password: unknown): Promise<void> {
    const hash = await hashPassword(checkPassword(password));
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
    return { ...keyView(record), secret_key: secretKey };
  }

  async listAccessKeys(userId: string): Promise<AccessKeyView[]> {
    await this.requireUser(userId);
    return (await listAccessKeys(this.store.db, [userId])).map(keyView);
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
