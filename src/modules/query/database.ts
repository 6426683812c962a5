import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { GroupChatsTable, MembersTable } from './group-chats/group-chats.table.ts';
import type { MessagesTable } from './messages/messages.table.ts';
import type { StreamPositionsTable } from './projection/stream-positions.table.ts';

/** The read model: every projection table, one Kysely interface. */
export interface Database {
  group_chats: GroupChatsTable;
  members: MembersTable;
  messages: MessagesTable;
  stream_positions: StreamPositionsTable;
}

export interface DatabaseSettings {
  /** postgres://… for a real Postgres through `pg`; absent for embedded PGlite. */
  readonly url?: string;
  /** PGlite's data folder; in memory when absent. Ignored with `url`. */
  readonly dataDir?: string;
  /** Postgres schema holding the projection tables. */
  readonly schema?: string;
  /** Pool size for `pg`; keep it small on Lambda (one request at a time per instance). */
  readonly poolSize?: number;
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

export const defaultSchema = 'projections';
const schemaPattern = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Opens the projection database: `pg` when a URL is given, else embedded PGlite. Both speak the
 * same SQL through Kysely. Opening a `pg` pool does not connect yet (a cold start must not wait
 * on the database); the schema and its tables come from `migrate`.
 */
export async function openDatabase(settings: DatabaseSettings = {}): Promise<ProjectionDatabase> {
  const schema = settings.schema ?? defaultSchema;
  if (!schemaPattern.test(schema)) throw new Error(`invalid schema name ${schema}`);
  let base: Kysely<Database>;
  let kind: ProjectionDatabase['kind'];
  if (settings.url) {
    kind = 'postgres';
    const url = new URL(settings.url);
    const wantsTls = ['require', 'verify-ca', 'verify-full'].includes(url.searchParams.get('sslmode') ?? '');
    const pool = new pg.Pool({
      connectionString: settings.url,
      max: settings.poolSize ?? 4,
      idleTimeoutMillis: 10_000,
      connectionTimeoutMillis: 3_000,
      // Without this, a query to a dead server waits for the OS TCP timeout.
      query_timeout: 10_000,
      ...(wantsTls ? { ssl: { rejectUnauthorized: url.searchParams.get('sslmode') !== 'require' } } : {}),
    });
    // A client losing its server must not crash the process: the query in flight (if any) fails
    // on its own, and the next query connects afresh.
    pool.on('error', () => undefined);
    pool.on('connect', (client) => client.on('error', () => undefined));
    base = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  } else {
    kind = 'pglite';
    // Loaded only when used: the Lambda bundle leaves PGlite out (it always has a DATABASE_URL).
    const [{ PGlite }, { PGliteDialect }] = await Promise.all([import('@electric-sql/pglite'), import('kysely-pglite-dialect')]);
    const pglite = await PGlite.create(settings.dataDir ? { dataDir: settings.dataDir } : {});
    base = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  }
  return {
    db: base.withSchema(schema),
    schema,
    kind,
    inSchema: (other) => {
      if (!schemaPattern.test(other)) throw new Error(`invalid schema name ${other}`);
      return base.withSchema(other);
    },
    close: () => base.destroy(),
  };
}
