import { Migrator, sql } from 'kysely';
import type { Kysely, Migration, MigrationProvider } from 'kysely';

/**
 * Migrations live in code so they travel inside the bundle. Named by date; each exports
 * `up`/`down` typed against `Kysely<any>` (a migration must not depend on today's types).
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
const migrations: Record<string, Migration> = {
  '2026-11-28-projections': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('group_chats')
        .addColumn('group_chat_id', 'uuid', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('owner_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull())
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('deleted', 'boolean', (c) => c.notNull().defaultTo(false))
        .execute();
      await db.schema
        .createTable('members')
        .addColumn('group_chat_id', 'uuid', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('joined_at', 'timestamptz', (c) => c.notNull())
        .addPrimaryKeyConstraint('members_pk', ['group_chat_id', 'user_id'])
        .execute();
      await db.schema.createIndex('members_by_user').on('members').columns(['user_id', 'group_chat_id']).execute();
      await db.schema
        .createTable('messages')
        .addColumn('message_id', 'uuid', (c) => c.primaryKey())
        .addColumn('group_chat_id', 'uuid', (c) => c.notNull())
        .addColumn('author_id', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('posted_at', 'timestamptz', (c) => c.notNull())
        .addColumn('edited_at', 'timestamptz')
        .execute();
      await db.schema
        .createIndex('messages_by_chat_newest')
        .on('messages')
        .expression(sql`group_chat_id, posted_at desc, message_id desc`)
        .execute();
      await db.schema
        .createTable('stream_positions')
        .addColumn('stream_id', 'text', (c) => c.primaryKey())
        .addColumn('version', 'integer', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<any>) {
      for (const table of ['stream_positions', 'messages', 'members', 'group_chats']) {
        await db.schema.dropTable(table).ifExists().execute();
      }
    },
  },
};

/** Every migration, for Kysely's Migrator (and for tests that apply them one at a time). */
export const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Every migration's name, in the order Kysely applies them. */
export const migrationNames: readonly string[] = Object.keys(migrations).sort();
/** The newest migration this code knows: a schema whose newest applied migration is this one is up to date. */
export const latestMigration = migrationNames.at(-1)!;

/**
 * Whether `schema` has every migration applied already: one SELECT of the newest name in Kysely's
 * own record of applied migrations. Kysely applies migrations in name order, so the newest being
 * ours means every one before it is there too. Anything else (no schema, no table yet, older, or
 * newer than this code knows) is for the Migrator to settle.
 */
async function upToDate(db: Kysely<any>, schema: string): Promise<boolean> {
  try {
    const { rows } = await sql<{ name: string }>`select name from ${sql.id(schema, 'kysely_migration')} order by name desc limit 1`.execute(db);
    return rows[0]?.name === latestMigration;
  } catch {
    return false;
  }
}

/**
 * Creates the schema if needed and brings its tables up to date. The common case, a schema
 * already at the latest migration, costs one SELECT (`upToDate`): a cold instance's first request
 * waits on one round trip, not the Migrator's dozen. Otherwise Kysely's migrator runs; it holds a
 * Postgres advisory lock while it runs, so concurrent cold starts apply each migration once and
 * the others wait, then find nothing to do.
 */
export async function migrate(db: Kysely<any>, schema: string): Promise<void> {
  if (await upToDate(db, schema)) return;
  try {
    await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  } catch (error) {
    // Concurrent cold starts race on "if not exists"; the loser finds the schema made.
    if (!['23505', '42P06'].includes((error as { code?: string }).code ?? '')) throw error;
  }
  const migrator = new Migrator({ db, provider, migrationTableSchema: schema });
  for (let attempt = 1; ; attempt++) {
    const { error, results } = await migrator.migrateToLatest();
    if (!error) return;
    // Kysely looks for its lock table by listing every schema's tables; a schema or table another
    // session drops or changes meanwhile (a finished rebuild's old schema) fails that listing
    // (no such schema, table or column). Try again.
    const code = (error as { code?: string }).code;
    if ((code === '3F000' || code === '42P01' || code === '42703') && attempt < 5) {
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
      continue;
    }
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`migration ${failed ?? ''} failed: ${(error as Error).message ?? String(error)}`, { cause: error });
  }
}
