import { sql } from 'kysely';
import type { RawBuilder } from 'kysely';
import type { Role } from '../../contracts/events.ts';

/**
 * A read model's table, declared once: each column's kind, whether it holds NULL, and the field
 * of the API's views that shows it. Everything else follows from the declaration:
 * - the table's type for Kysely (`RowOf`), hence the `Database` type;
 * - the update of its upsert (`fromExcluded`): a new column is written without another line;
 * - a new row with each column's initial value, or NULL, where the fold gives none (`newRow`);
 * - the view of a row (`ViewOf`, `viewOf`) and the columns it selects (`shownColumns`), which the
 *   query module turns into the answer's schema from the kinds (query.schemas.ts, `viewFields`);
 * - the migrated schema is held to the kinds and nullability (`migrations.test.ts`).
 * Only the migration that adds a column says its SQL again.
 *
 * @example
 * export const notesTable = table({
 *   note_id: column.uuid({ shownAs: 'noteId' }),
 *   text: column.text({ shownAs: 'text' }),
 *   read_at: column.timestamp({ nullable: true, shownAs: 'readAt' }),
 * }, ['note_id']);
 */

/** What each kind of column holds in a row. */
interface Kinds {
  readonly uuid: string;
  /** Text, and user ids (which are not UUIDs). */
  readonly text: string;
  readonly timestamp: Date;
  readonly integer: number;
  readonly flag: boolean;
  readonly role: Role;
}

export type ColumnKind = keyof Kinds;

/** The SQL type a migration gives each kind, as Postgres names it in `information_schema.columns`. */
export const sqlTypes: Readonly<Record<ColumnKind, string>> = {
  uuid: 'uuid',
  text: 'text',
  timestamp: 'timestamp with time zone',
  integer: 'integer',
  flag: 'boolean',
  role: 'text',
};

/**
 * A column holding `T`, shown in views as the field `Field` (or not at all); `Initially` says
 * whether it has a value of its own in a new row.
 */
export interface Column<T, Field extends string | undefined = string | undefined, Initially extends boolean = boolean> {
  /** The column's type, for the compiler only. */
  readonly type?: T;
  /** For the compiler only: whether a new row may leave it out. */
  readonly hasInitial?: Initially;
  readonly kind: ColumnKind;
  /** Whether it holds NULL: said at run time too, so the migrated schema can be checked against it. */
  readonly nullable: boolean;
  /** The field of the API's views that shows it; absent for columns only the queries use. */
  readonly shownAs?: Field;
  /** What a new row holds unless the fold says otherwise; the migration's default is held to it. */
  readonly initially?: unknown;
}

interface ColumnOptions<V> {
  /** Said as `true` or not at all: a column's nullability is known where it is declared. */
  readonly nullable?: true;
  readonly shownAs?: string;
  /** Its value in a new row, and the default of the migration that adds it (rows already there get it too). */
  readonly initially?: V;
}

type ColumnFor<K extends ColumnKind, O extends ColumnOptions<Kinds[K]>> = Column<
  O extends { readonly nullable: true } ? Kinds[K] | null : Kinds[K],
  O extends { readonly shownAs: infer F extends string } ? F : undefined,
  O extends { readonly initially: Kinds[K] } ? true : O extends { readonly nullable: true } ? true : false
>;

const kind =
  <K extends ColumnKind>(name: K) =>
  <const O extends ColumnOptions<Kinds[K]> = Record<never, never>>(options?: O): ColumnFor<K, O> => ({
    kind: name,
    nullable: options?.nullable ?? false,
    ...(options?.shownAs === undefined ? {} : { shownAs: options.shownAs as ColumnFor<K, O>['shownAs'] }),
    ...(options?.initially === undefined ? {} : { initially: options.initially }),
  });

/** The kinds of column: `column.uuid()`, `column.timestamp({ nullable: true, shownAs: 'editedAt' })`. */
export const column = {
  uuid: kind('uuid'),
  text: kind('text'),
  timestamp: kind('timestamp'),
  integer: kind('integer'),
  flag: kind('flag'),
  role: kind('role'),
};

type Columns = Record<string, Column<unknown>>;

export interface TableColumns<C extends Columns, K extends keyof C & string> {
  readonly columns: C;
  /** The primary key: what an upsert conflicts on and never updates. */
  readonly key: readonly K[];
}

type ValueOf<C> = C extends Column<infer V> ? V : never;
type ColumnsOf<T> = T extends TableColumns<infer C, string> ? C : never;

/** The row type a table declaration stands for (`Selectable` and `Insertable` alike: no generated columns). */
export type RowOf<T> = { [Name in keyof ColumnsOf<T>]: ValueOf<ColumnsOf<T>[Name]> };

export function table<C extends Columns, K extends keyof C & string>(columns: C, key: readonly K[]): TableColumns<C, K> {
  const fields = Object.values(columns).flatMap((c) => (c.shownAs === undefined ? [] : [c.shownAs]));
  const twice = fields.filter((field, index) => fields.indexOf(field) !== index);
  // Two columns under one field: the later would replace the earlier in every view.
  if (twice.length > 0) throw new Error(`more than one column is shown as ${twice.join(', ')}`);
  return { columns, key };
}

/**
 * The `doUpdateSet` of an upsert on `table`: every column but the key takes the value of the row
 * that conflicted in (`excluded.<column>`).
 */
export function fromExcluded<C extends Columns, K extends keyof C & string>(
  declared: TableColumns<C, K>,
): { [Name in Exclude<keyof C, K>]: RawBuilder<ValueOf<C[Name]>> } {
  const update: Record<string, RawBuilder<unknown>> = {};
  for (const name of Object.keys(declared.columns)) {
    if (!(declared.key as readonly string[]).includes(name)) update[name] = sql.ref(`excluded.${name}`);
  }
  // (Object.fromEntries cannot say which keys it made: the loop above makes exactly these.)
  return update as { [Name in Exclude<keyof C, K>]: RawBuilder<ValueOf<C[Name]>> };
}

/** The columns a new row may leave out: those with an initial value, and those that admit NULL. */
type OptionalNames<C> = { [Name in keyof C]: C[Name] extends Column<unknown, string | undefined, true> ? Name : never }[keyof C];

/** What a new row must be given: every column without an initial value that cannot be NULL; the others may be left out. */
export type NewRowValues<T> = { [Name in Exclude<keyof ColumnsOf<T>, OptionalNames<ColumnsOf<T>>>]: ValueOf<ColumnsOf<T>[Name]> } & {
  [Name in OptionalNames<ColumnsOf<T>>]?: ValueOf<ColumnsOf<T>[Name]>;
};

/** A whole row of `table`: the values given, and where none was, the column's initial value, else NULL. */
export function newRow<T extends TableColumns<Columns, string>>(declared: T, values: NewRowValues<T>): RowOf<T> {
  const row: Record<string, unknown> = {};
  for (const [name, { nullable, initially }] of Object.entries(declared.columns)) {
    const value = (values as Record<string, unknown>)[name];
    row[name] = value !== undefined ? value : initially !== undefined ? initially : nullable ? null : value;
  }
  return row as RowOf<T>;
}

type ShownNames<C> = { [Name in keyof C]: C[Name] extends Column<unknown, infer F> ? (F extends string ? Name : never) : never }[keyof C] & string;
type FieldOf<C> = C extends Column<unknown, infer F extends string> ? F : never;
/** A view shows a timestamp as its ISO 8601 text. */
type ShownValue<V> = V extends Date ? string : V;

/** What the API shows of a row of `T`: each shown column under its field name. */
export type ViewOf<T> = {
  readonly [Name in ShownNames<ColumnsOf<T>> as FieldOf<ColumnsOf<T>[Name]>]: ShownValue<ValueOf<ColumnsOf<T>[Name]>>;
};

/** The shown columns of a row as a query selects them (a timestamp inside a JSON array arrives as text). */
export type ShownRow<T> = { readonly [Name in ShownNames<ColumnsOf<T>>]: ValueOf<ColumnsOf<T>[Name]> extends infer V ? (V extends Date ? Date | string : V) : never };

const shown = (declared: TableColumns<Columns, string>) => Object.entries(declared.columns).filter(([, c]) => c.shownAs !== undefined);

/** The columns a view of `table` shows, qualified by the query's alias for it: what a query selects. */
export function shownColumns<T extends TableColumns<Columns, string>, A extends string>(declared: T, alias: A): readonly `${A}.${ShownNames<ColumnsOf<T>>}`[] {
  return shown(declared).map(([name]) => `${alias}.${name}` as `${A}.${ShownNames<ColumnsOf<T>>}`);
}

/** The view of a row: each shown column under its field name, timestamps as ISO 8601 text. */
export function viewOf<T extends TableColumns<Columns, string>>(declared: T): (row: ShownRow<T>) => ViewOf<T> {
  const fields = shown(declared);
  return (row) => {
    const view: Record<string, unknown> = {};
    for (const [name, { kind, shownAs }] of fields) {
      const value = (row as Record<string, unknown>)[name];
      view[shownAs!] = kind === 'timestamp' && value !== null ? new Date(value as Date | string).toISOString() : value;
    }
    return view as ViewOf<T>;
  };
}

/** Each shown column's field name, kind and nullability, for the schema of the view's answers. */
export function shownFields<T extends TableColumns<Columns, string>>(
  declared: T,
): readonly { readonly field: keyof ViewOf<T> & string; readonly kind: ColumnKind; readonly nullable: boolean }[] {
  return shown(declared).map(([, { kind, nullable, shownAs }]) => ({ field: shownAs as keyof ViewOf<T> & string, kind, nullable }));
}
