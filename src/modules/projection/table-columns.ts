import { sql } from 'kysely';
import type { RawBuilder } from 'kysely';

/**
 * A read model's table, declared once: its columns as a value, from which the table's type (for
 * Kysely) and the update of its upsert both follow. A column added here is written by the upsert
 * without another line; a column left out of the declaration does not exist for the compiler.
 *
 * @example
 * export const messagesTable = table({ message_id: column<string>(), text: column<string>() }, ['message_id']);
 * export type MessagesTable = RowOf<typeof messagesTable>;
 */
export interface Column<T> {
  /** The column's type, for the compiler only. */
  readonly type?: T;
  /** Whether it holds NULL: said at run time too, so the migrated schema can be checked against it. */
  readonly nullable: boolean;
}

/**
 * A column of type `T`. A type that admits `null` must say so at run time as well
 * (`column<Date | null>({ nullable: true })`), and one that does not cannot: the declaration and
 * the migrated schema are compared on it (`migrations.test.ts`).
 */
export const column = <T>(...options: null extends T ? [{ readonly nullable: true }] : []): Column<T> => ({ nullable: options[0]?.nullable ?? false });

export interface TableColumns<C extends Record<string, Column<unknown>>, K extends keyof C & string> {
  readonly columns: C;
  /** The primary key: what an upsert conflicts on and never updates. */
  readonly key: readonly K[];
}

/** The row type a table declaration stands for (`Selectable` and `Insertable` alike: no generated columns). */
export type RowOf<T> = T extends TableColumns<infer C, string> ? { [Name in keyof C]: C[Name] extends Column<infer V> ? V : never } : never;

export function table<C extends Record<string, Column<unknown>>, K extends keyof C & string>(columns: C, key: readonly K[]): TableColumns<C, K> {
  return { columns, key };
}

/**
 * The `doUpdateSet` of an upsert on `table`: every column but the key takes the value of the row
 * that conflicted in (`excluded.<column>`).
 */
export function fromExcluded<C extends Record<string, Column<unknown>>, K extends keyof C & string>(
  declared: TableColumns<C, K>,
): { [Name in Exclude<keyof C, K>]: RawBuilder<C[Name] extends Column<infer V> ? V : never> } {
  const update: Record<string, RawBuilder<unknown>> = {};
  for (const name of Object.keys(declared.columns)) {
    if (!(declared.key as readonly string[]).includes(name)) update[name] = sql.ref(`excluded.${name}`);
  }
  // (Object.fromEntries cannot say which keys it made: the loop above makes exactly these.)
  return update as { [Name in Exclude<keyof C, K>]: RawBuilder<C[Name] extends Column<infer V> ? V : never> };
}
