import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Test } from 'tap';
import { migrate, openDatabase } from '../modules/query/index.ts';
import type { ProjectionDatabase } from '../modules/query/index.ts';

/**
 * The projection databases a read-side test runs against: embedded PGlite always, and the real
 * Postgres of DATABASE_URL when it is set. Each gets its own schema, dropped afterwards, so test
 * files can run in parallel against one server.
 */
export function eachDatabase(t: Test, name: string, body: (t: Test, open: () => Promise<ProjectionDatabase>) => Promise<void>): void {
  const kinds: { kind: string; url?: string }[] = [{ kind: 'pglite' }];
  if (process.env.DATABASE_URL) kinds.push({ kind: 'postgres', url: process.env.DATABASE_URL });
  for (const { kind, url } of kinds) {
    t.test(`${name} [${kind}]`, async (t) => body(t, () => openTestDatabase(t, url)));
  }
  if (!process.env.DATABASE_URL) {
    t.test(`${name} [postgres]`, { skip: 'real Postgres: DATABASE_URL is not set' }, async () => undefined);
  }
}

/** A fresh, migrated projection database closed (and its schema dropped) when the test ends. */
export async function openTestDatabase(t: Test, url = process.env.DATABASE_URL): Promise<ProjectionDatabase> {
  const schema = url ? `test_${randomUUID().replaceAll('-', '').slice(0, 16)}` : 'projections';
  const database = await openDatabase(url ? { url, schema } : { schema });
  await migrate(database.db, database.schema);
  t.teardown(async () => {
    if (url) {
      await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(database.db).catch(() => undefined);
      await sql`drop schema if exists ${sql.id(`${schema}_old`)} cascade`.execute(database.db).catch(() => undefined);
      await sql`drop schema if exists ${sql.id(`${schema}_rebuild`)} cascade`.execute(database.db).catch(() => undefined);
    }
    await database.close();
  });
  return database;
}
