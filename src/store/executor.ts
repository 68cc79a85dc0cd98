import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** A query executor: the database itself or a connection inside a transaction. */
export type Executor = Kysely<Database>;
