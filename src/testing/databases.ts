import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import t from 'tap';
import type { Test } from 'tap';
import { migrate, openDatabase } from '../modules/projection/index.ts';
import type { DatabaseSettings, ProjectionDatabase } from '../modules/projection/index.ts';
import { pgliteImage } from './pglite-image.ts';

/**
 * The projection databases a read-side test runs against: embedded PGlite always, and the real
 * Postgres of DATABASE_URL when it is set. Every database a test opens is a schema of its own,
 * dropped afterwards, so test files can run in parallel against one server.
 */
export function eachDatabase(t: Test, name: string, body: (t: Test, open: () => Promise<ProjectionDatabase>) => Promise<void>): void {
  const kinds: { kind: string; url?: string }[] = [{ kind: 'pglite' }];
  if (process.env.DATABASE_URL) kinds.push({ kind: 'postgres', url: process.env.DATABASE_URL });
  for (const { kind, url } of kinds) {
    t.test(`${name} [${kind}]`, async (t) => body(t, () => openTestDatabase(t, url ?? null)));
  }
  if (!process.env.DATABASE_URL) {
    t.test(`${name} [postgres]`, { skip: 'real Postgres: DATABASE_URL is not set' }, async () => undefined);
  }
}

/**
 * An embedded, in-memory PGlite started from the initialised image in node_modules/.cache
 * (`pgliteImage`), never by initdb: what `openDatabase` gives without a URL or a data folder.
 */
export async function openEmbeddedDatabase(settings: Omit<DatabaseSettings, 'url' | 'postgres' | 'dataDir' | 'image'> = {}): Promise<ProjectionDatabase> {
  return openDatabase({ ...settings, image: await pgliteImage() });
}

// Starting PGlite costs a second; one instance per test process (a suite) serves every schema.
let embedded: Promise<ProjectionDatabase> | undefined;
function sharedEmbedded(): Promise<ProjectionDatabase> {
  if (!embedded) {
    embedded = openEmbeddedDatabase();
    t.teardown(async () => (await embedded!).close());
  }
  return embedded;
}

/**
 * A fresh, migrated projection database, its schema dropped when the test ends: on the Postgres
 * of `url` (DATABASE_URL by default), or on the process's shared PGlite when `url` is null. With
 * `migrated: false` the schema does not exist yet (for tests of who creates it).
 */
export async function openTestDatabase(
  t: Test,
  url: string | null = process.env.DATABASE_URL ?? null,
  options: { readonly migrated?: boolean } = {},
): Promise<ProjectionDatabase> {
  const schema = `test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  let database: ProjectionDatabase;
  if (url) {
    database = await openDatabase({ url, schema });
  } else {
    const shared = await sharedEmbedded();
    database = { ...shared, db: shared.inSchema(schema), schema, close: async () => undefined };
  }
  if (options.migrated !== false) await migrate(database.db, database.schema);
  t.teardown(async () => {
    for (const name of [schema, `${schema}_old`, `${schema}_rebuild`]) {
      await sql`drop schema if exists ${sql.id(name)} cascade`.execute(database.db).catch(() => undefined);
    }
    await database.close();
  });
  return database;
}

/** A projection database that is down: nothing listens on the discard port, every query is refused. */
export async function refusedDatabase(t: Test): Promise<ProjectionDatabase> {
  const database = await openDatabase({ url: 'postgres://nobody@127.0.0.1:9/none' });
  t.teardown(() => database.close());
  return database;
}

/** `db` with every statement it sends recorded as its SQL text: what a test compares or counts. */
export function recordingStatements<DB>(db: Kysely<DB>): { readonly db: Kysely<DB>; readonly statements: string[] } {
  const statements: string[] = [];
  const recording = db.withPlugin({
    transformQuery: (args) => {
      statements.push(db.getExecutor().compileQuery(args.node, args.queryId).sql);
      return args.node;
    },
    transformResult: async (args) => args.result,
  });
  return { db: recording, statements };
}
