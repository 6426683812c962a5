import { Kysely, PostgresDialect } from 'kysely';
import type { Dialect } from 'kysely';
import { classifiedDialect } from './database-driver.ts';
import { groupChatsTable, membersTable } from './group-chats/group-chats.projection.ts';
import { messagesTable } from './messages/messages.projection.ts';
import { streamPositionsTable } from './stream-positions.table.ts';
import type { RowOf } from './table-columns.ts';
import { CredentialedPool, connectionFromUrl } from '../../shared/postgres.ts';
import { defaultDatabaseSchema, schemaNamePattern } from '../../shared/config.ts';
import { querySpans } from '../../shared/sql-tracing.ts';
import type { PostgresSource } from '../../shared/postgres.ts';

/**
 * Every projection table by its name, as declared: the Kysely type of the database follows, and
 * `migrations.test.ts` holds the migrated schema to exactly these tables and columns.
 */
export const tables = {
  group_chats: groupChatsTable,
  members: membersTable,
  messages: messagesTable,
  stream_positions: streamPositionsTable,
} as const;

/** The read model: every projection table, one Kysely type. */
export type Database = { [Name in keyof typeof tables]: RowOf<(typeof tables)[Name]> };

export interface DatabaseSettings {
  /** postgres://… for a real Postgres through `pg`; absent for embedded PGlite. */
  readonly url?: string;
  /** Or a real Postgres whose settings are resolved on first use (a secret read at run time). */
  readonly postgres?: PostgresSource;
  /** PGlite's data folder; in memory when absent. Ignored with `url`. */
  readonly dataDir?: string;
  /**
   * In memory only: a data folder as PGlite's `dumpDataDir` wrote it, to start from instead of
   * running initdb (about 1 s against 4–6 s; the tests start one per file).
   */
  readonly image?: Blob;
  /** Postgres schema holding the projection tables. */
  readonly schema?: string;
  /** Pool size for `pg`; keep it small on Lambda (one request at a time per instance). */
  readonly poolSize?: number;
  /** With `url`: how long one query may take (`PostgresConnectionSettings.queryTimeoutMs`). */
  readonly queryTimeoutMs?: number;
  /**
   * Embedded PGlite only: called with a fault after which it must not be used (its folder full,
   * or a PANIC: `isEmbeddedFault`); the caller stops the process. Without it the statement fails
   * like any other (503).
   */
  readonly onFault?: (error: Error) => void;
}

export interface ProjectionDatabase {
  /** Bound to the projection schema: table names need no qualification. */
  readonly db: Kysely<Database>;
  readonly schema: string;
  readonly kind: 'postgres' | 'pglite';
  /** The same connection, bound to another schema (the rebuild builds aside, then swaps). */
  inSchema(schema: string): Kysely<Database>;
  close(): Promise<void>;
}


/**
 * PGlite's memory, sized for a local projection database rather than Postgres' server defaults
 * (shared_buffers 128 MB, all of it inside the process): with these, `npm start` idles at about
 * 100 MB less RSS (BENCHMARKS.md). Passed as `-c` start parameters, so the data folder's own
 * postgresql.conf is left as initdb wrote it.
 */
export const pgliteMemorySettings: readonly string[] = ['-c', 'shared_buffers=16MB', '-c', 'wal_buffers=1MB', '-c', 'maintenance_work_mem=16MB'];

/**
 * A data folder without a database is initialised in a short-lived child process, not here.
 * PGlite runs initdb in a second, in-memory instance (its own WebAssembly memory and module) and
 * copies the result through a tar image: done in this process, that left `npm start` at 700–800 MB
 * RSS after its first start (the memory a WebAssembly instance touched is not given
 * back), against about 300 MB on a folder that already holds a database (BENCHMARKS.md).
 */
async function initialisePgliteDataDir(dataDir: string): Promise<void> {
  const { existsSync } = await import('node:fs');
  const { join } = await import('node:path');
  if (existsSync(join(dataDir, 'PG_VERSION'))) return;
  const { execFile } = await import('node:child_process');
  const pglite = import.meta.resolve('@electric-sql/pglite');
  const script = `const { PGlite } = await import(${JSON.stringify(pglite)}); await (await PGlite.create({ dataDir: process.argv[1] })).close();`;
  await new Promise<void>((resolve, reject) => {
    execFile(process.execPath, ['--liftoff-only', '--input-type=module', '--eval', script, '--', dataDir], { env: process.env }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`initialising the PGlite database in ${dataDir} failed: ${stderr.trim() || error.message}`, { cause: error }));
      else resolve();
    });
  });
}

/**
 * Opens the projection database: `pg` when a URL or a settings source is given, else embedded
 * PGlite. Both speak the same SQL through Kysely. Opening a `pg` pool does not connect yet (a
 * cold start must not wait on the database); the schema and its tables come from `migrate`.
 */
export async function openDatabase(settings: DatabaseSettings = {}): Promise<ProjectionDatabase> {
  const schema = settings.schema ?? defaultDatabaseSchema;
  if (!schemaNamePattern.test(schema)) throw new Error(`invalid schema name ${schema}`);
  let dialect: Dialect;
  let kind: ProjectionDatabase['kind'];
  if (settings.url || settings.postgres) {
    kind = 'postgres';
    let source = settings.postgres;
    if (source === undefined) {
      const connection = { ...connectionFromUrl(settings.url!), ...(settings.queryTimeoutMs === undefined ? {} : { queryTimeoutMs: settings.queryTimeoutMs }) };
      source = async () => connection;
    }
    // Connects (and reads any secret) on first use, never at start; refetches refused credentials.
    const pool = new CredentialedPool({ source, poolSize: settings.poolSize ?? 4 });
    dialect = new PostgresDialect({ pool });
  } else {
    kind = 'pglite';
    // Loaded only when used: the Lambda bundle leaves PGlite out (it always has a DATABASE_URL).
    const [{ PGlite }, { PGliteDialect }] = await Promise.all([import('@electric-sql/pglite'), import('kysely-pglite-dialect')]);
    if (settings.dataDir) await initialisePgliteDataDir(settings.dataDir);
    const storage = settings.dataDir ? { dataDir: settings.dataDir } : settings.image ? { loadDataDir: settings.image } : {};
    const pglite = await PGlite.create({ ...storage, startParams: [...PGlite.defaultStartParams, ...pgliteMemorySettings] });
    dialect = new PGliteDialect(pglite);
  }
  // Failures are classified where they leave the driver (503 or not), and a closed database
  // answers like one that cannot be reached.
  const classified = classifiedDialect(dialect, kind === 'pglite' ? settings.onFault : undefined);
  const base = new Kysely<Database>({ dialect: classified.dialect, log: querySpans });
  return {
    db: base.withSchema(schema),
    schema,
    kind,
    inSchema: (other) => {
      if (!schemaNamePattern.test(other)) throw new Error(`invalid schema name ${other}`);
      return base.withSchema(other);
    },
    close: () => classified.driver.destroy(),
  };
}
