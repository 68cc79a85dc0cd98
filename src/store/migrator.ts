import { type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import type { Executor } from './executor.js';
import { type MigrationDialect, migrations } from './migrations/index.js';

function newerSchemaError(unknown: readonly string[]): Error {
  return new Error(
    `the database schema is newer than this version of tagplane knows (unknown migrations: ${unknown.join(', ')}); upgrade tagplane`,
  );
}

/**
 * The store's schema versions: which migrations this code knows, which have run, and running
 * them. The migrations themselves are frozen in time and take the database's name, not its
 * capabilities, since what they once did must not change with what the code does today.
 */
export class SchemaMigrator {
  constructor(
    private readonly db: Executor,
    private readonly dialect: MigrationDialect,
  ) {}

  /** Every migration this code knows, in the order they run. */
  knownMigrations(): string[] {
    return Object.keys(migrations(this.dialect)).sort();
  }

  /** Which known migrations have run and which are pending; `unknown` ran but this code lacks. */
  async schemaStatus(): Promise<{ executed: string[]; pending: string[]; unknown: string[] }> {
    const known = this.knownMigrations();
    const executed = await this.executedMigrations();
    const done = new Set(executed);
    return {
      executed,
      pending: known.filter((name) => !done.has(name)),
      unknown: executed.filter((name) => !known.includes(name)),
    };
  }

  /** Refuses a schema newer than this code, or one with migrations still to run. */
  async requireCurrentSchema(): Promise<void> {
    const { pending, unknown } = await this.schemaStatus();
    if (unknown.length > 0) throw newerSchemaError(unknown);
    if (pending.length > 0) {
      throw new Error(
        `the database schema is behind this version of tagplane (pending: ${pending.join(', ')}); run \`tagplane migrate\` first`,
      );
    }
  }

  /**
   * Brings the schema to the latest version, or only up to migration `to`. Returns how many
   * migrations ran and whether the database was new (this call created its schema). Refuses a
   * schema newer than this code, and a database already past `to`. Several processes may run it
   * at once: the migrator holds a lock (on PostgreSQL an advisory lock) while it works.
   */
  async migrate(to?: string): Promise<{ applied: number; fresh: boolean }> {
    const { executed, unknown } = await this.schemaStatus();
    if (unknown.length > 0) throw newerSchemaError(unknown);
    const migrator = this.migrator();
    let outcome: Awaited<ReturnType<Migrator['migrateToLatest']>>;
    if (to === undefined) {
      outcome = await migrator.migrateToLatest();
    } else {
      const known = this.knownMigrations();
      if (!known.includes(to)) throw new Error(`unknown schema version '${to}'`);
      const beyond = executed.filter((name) => name > to);
      if (beyond.length > 0) {
        throw new Error(`the database schema is already past ${to} (${beyond.join(', ')})`);
      }
      outcome = await migrator.migrateTo(to);
    }
    if (outcome.error) throw outcome.error;
    const ran = (outcome.results ?? []).filter((r) => r.status === 'Success');
    // New to this process: it ran the very first migration (of several processes starting on a
    // new database together, exactly one does).
    const first = this.knownMigrations()[0];
    return { applied: ran.length, fresh: ran.some((r) => r.migrationName === first) };
  }

  /** Names of the migrations already run on this database, in the order they ran. */
  async executedMigrations(): Promise<string[]> {
    const hasTable = await this.db.introspection
      .getTables({ withInternalKyselyTables: true })
      .then((tables) => tables.some((t) => t.name === 'kysely_migration'));
    if (!hasTable) return [];
    const rows = await sql<{
      name: string;
    }>`select name from kysely_migration order by name`.execute(this.db);
    return rows.rows.map((r) => r.name);
  }

  private migrator(): Migrator {
    const all = migrations(this.dialect);
    const provider: MigrationProvider = {
      getMigrations: async (): Promise<Record<string, Migration>> => all,
    };
    return new Migrator({ db: this.db, provider });
  }
}
