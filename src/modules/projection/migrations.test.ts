import { randomUUID } from 'node:crypto';
import { Migrator, sql } from 'kysely';
import t from 'tap';
import { eachDatabase, recordingStatements } from '../../testing/databases.ts';
import { migrate } from './index.ts';
import { tables } from './database.ts';
import { migrationNames, provider } from './migrations.ts';
import { sqlTypes } from './table-columns.ts';
import type { Column } from './table-columns.ts';

eachDatabase(t, 'a schema at the latest migration is checked with one statement', async (t, open) => {
  const database = await open();
  const recorded = recordingStatements(database.db);
  await migrate(recorded.db, database.schema);
  t.equal(recorded.statements.length, 1, 'one SELECT, no DDL, no lock');
  const { rows } = await sql<{ name: string }>`select name from ${sql.id(database.schema, 'kysely_migration')} order by name`.execute(database.db);
  t.same(rows.map((row) => row.name), migrationNames, 'each migration applied once, however many there are');
});

eachDatabase(t, 'a schema behind (or without tables) is migrated by the Migrator', async (t, open) => {
  const database = await open();
  await sql`drop table ${sql.id(database.schema, 'stream_positions')}`.execute(database.db);
  await sql`delete from ${sql.id(database.schema, 'kysely_migration')}`.execute(database.db);
  const recorded = recordingStatements(database.db);
  await migrate(recorded.db, database.schema).catch(() => undefined);
  t.ok(recorded.statements.length > 1, 'the fast path steps aside');
  await sql`drop schema ${sql.id(database.schema)} cascade`.execute(database.db);
  await migrate(database.db, database.schema);
  const { rows } = await sql<{ count: string }>`select count(*)::text as count from ${sql.id(database.schema, 'stream_positions')}`.execute(database.db);
  t.same(rows, [{ count: '0' }], 'a missing schema is created with its tables');
});

eachDatabase(t, 'the migrations make exactly the declared tables and columns, of the declared kinds', async (t, open) => {
  const database = await open();
  const { rows: made } = await sql<{ table_name: string }>`
    select table_name from information_schema.tables where table_schema = ${database.schema} and table_name not like 'kysely_%' order by table_name`.execute(database.db);
  t.same(made.map((row) => row.table_name), Object.keys(tables).sort(), 'every declared table, no other');
  for (const [name, declared] of Object.entries(tables)) {
    const { rows } = await sql<{ column_name: string; is_nullable: 'YES' | 'NO'; data_type: string; column_default: string | null }>`
      select column_name, is_nullable, data_type, column_default from information_schema.columns where table_schema = ${database.schema} and table_name = ${name} order by column_name`.execute(database.db);
    t.same(rows.map((row) => row.column_name), Object.keys(declared.columns).sort(), `${name}: a column declared is a column migrated, and back`);
    const columns: Record<string, Column<unknown>> = declared.columns;
    t.same(
      rows.filter((row) => columns[row.column_name] && sqlTypes[columns[row.column_name]!.kind] !== row.data_type).map((row) => `${row.column_name} ${row.data_type}`),
      [],
      `${name}: each column is of the SQL type its kind is migrated as`,
    );
    t.same(
      rows.filter((row) => (row.column_default ?? undefined) !== sqlDefault(columns[row.column_name]?.initially)).map((row) => `${row.column_name} default ${row.column_default}`),
      [],
      `${name}: a column's migrated default is its declared initial value (rows already there get what a new row gets)`,
    );
    t.same(
      rows.filter((row) => (row.is_nullable === 'YES') !== columns[row.column_name]?.nullable).map((row) => `${row.column_name} ${row.is_nullable === 'YES' ? 'nullable' : 'not null'}`),
      [],
      `${name}: each column holds NULL as its declaration says`,
    );
  }
});

/** A declared initial value as Postgres shows a column's default (`information_schema.columns.column_default`). */
function sqlDefault(initially: unknown): string | undefined {
  if (initially === undefined) return undefined;
  return typeof initially === 'string' ? `'${initially.replaceAll("'", "''")}'::text` : String(initially);
}

/** A value of each SQL type the migrations use, for a row that only has to exist. */
const anyValue: Record<string, () => unknown> = {
  uuid: () => randomUUID(),
  text: () => randomUUID(),
  'timestamp with time zone': () => new Date(),
  integer: () => 1,
  boolean: () => false,
};

/**
 * The migrations are tested on a deployed database too, not only an empty one: each is applied to
 * tables that hold a row (a NOT NULL column added without a default or a backfill fails here,
 * naming the migration), whatever the number of migrations.
 */
eachDatabase(t, 'each migration applies to tables that hold rows', async (t, open) => {
  const database = await open();
  await sql`drop schema ${sql.id(database.schema)} cascade`.execute(database.db);
  await sql`create schema ${sql.id(database.schema)}`.execute(database.db);
  const migrator = new Migrator({ db: database.db, provider, migrationTableSchema: database.schema });
  for (const name of migrationNames) {
    const { error } = await migrator.migrateTo(name);
    t.equal(error, undefined, `${name} applies to the tables as the migrations before it left them, each holding a row`);
    if (error) break;
    const { rows: columns } = await sql<{ table_name: string; column_name: string; data_type: string }>`
      select table_name, column_name, data_type from information_schema.columns
      where table_schema = ${database.schema} and table_name not like 'kysely_%' order by table_name, ordinal_position`.execute(database.db);
    for (const table of new Set(columns.map((c) => c.table_name))) {
      const row: Record<string, unknown> = {};
      for (const c of columns.filter((c) => c.table_name === table)) {
        const value = anyValue[c.data_type];
        if (!value) {
          t.fail(`${table}.${c.column_name}: no sample value for SQL type ${c.data_type}; add one to anyValue`);
          return;
        }
        row[c.column_name] = value();
      }
      await sql`insert into ${sql.id(database.schema, table)} (${sql.join(Object.keys(row).map((c) => sql.id(c)))}) values (${sql.join(Object.values(row))})`.execute(database.db);
    }
  }
});
