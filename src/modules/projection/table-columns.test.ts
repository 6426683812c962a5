import t from 'tap';
import { groupChatsTable, membersTable } from './group-chats/group-chats.projection.ts';
import { messagesTable } from './messages/messages.projection.ts';
import { column, fromExcluded, newRow, shownColumns, shownFields, table, viewOf } from './table-columns.ts';
import type { Column } from './table-columns.ts';

t.test('an upsert updates every declared column but the key, from the row that conflicted in', async (t) => {
  for (const declared of [groupChatsTable, membersTable, messagesTable]) {
    const update = fromExcluded<Record<string, Column<unknown>>, string>(declared);
    const columns = Object.keys(declared.columns);
    t.same(Object.keys(update), columns.filter((name) => !(declared.key as readonly string[]).includes(name)), `${declared.key.join(', ')}: every other column`);
    t.ok(declared.key.every((name) => columns.includes(name)), 'the key is among the columns');
  }
  t.same(Object.keys(fromExcluded(membersTable)), ['role', 'joined_at']);
});

/** A table of every kind, for the declarations' rules alone (the read models' own tables below). */
const notesTable = table(
  {
    note_id: column.uuid({ shownAs: 'noteId' }),
    chat_id: column.uuid(),
    text: column.text({ shownAs: 'text' }),
    written_at: column.timestamp({ shownAs: 'writtenAt' }),
    read_at: column.timestamp({ nullable: true, shownAs: 'readAt' }),
    stars: column.integer({ shownAs: 'stars' }),
    pinned: column.flag({ shownAs: 'pinned' }),
    role: column.role({ shownAs: 'role' }),
    hidden: column.flag({ initially: false }),
  },
  ['note_id'],
);

t.test('a column says at run time its kind, whether it holds NULL (as its type does), and which field shows it', async (t) => {
  t.same(notesTable.columns.read_at, { kind: 'timestamp', nullable: true, shownAs: 'readAt' });
  t.same(notesTable.columns.text, { kind: 'text', nullable: false, shownAs: 'text' });
  t.same(notesTable.columns.chat_id, { kind: 'uuid', nullable: false }, 'a column no view shows');
  t.same(notesTable.columns.hidden, { kind: 'flag', nullable: false, initially: false }, 'and its initial value');
  t.same(
    Object.values(notesTable.columns).map((c) => c.kind),
    ['uuid', 'uuid', 'text', 'timestamp', 'timestamp', 'integer', 'flag', 'role', 'flag'],
  );
});

const written = new Date('2026-12-01T10:00:00Z');
const note = { note_id: 'n', chat_id: 'c', text: 'hi', written_at: written, stars: 2, pinned: false, role: 'member', hidden: true } as const;

t.test('a new row: the values given, NULL where a column admits it and none was given', async (t) => {
  t.strictSame(newRow(notesTable, note), { ...note, read_at: null }, 'NULL, not undefined (which an insert would leave to the column default)');
  t.same(Object.keys(newRow(notesTable, note)), Object.keys(notesTable.columns), 'every declared column, in order');
  t.same(newRow(notesTable, { ...note, read_at: written }).read_at, written, 'a value given is kept');
  const { hidden: _hidden, ...withoutHidden } = note;
  t.strictSame(newRow(notesTable, withoutHidden).hidden, false, "a column left out takes its initial value");
  // @ts-expect-error a column that cannot be NULL and has no initial value must be given
  newRow(notesTable, { note_id: 'n', chat_id: 'c', text: 'hi', written_at: written, stars: 2, role: 'member' });
});

t.test('a view: each shown column under its field, timestamps as ISO 8601 text, NULL kept', async (t) => {
  const { chat_id: _chat, hidden: _hidden, ...shown } = { ...note, read_at: null };
  t.strictSame(viewOf(notesTable)(shown), { noteId: 'n', text: 'hi', writtenAt: '2026-12-01T10:00:00.000Z', readAt: null, stars: 2, pinned: false, role: 'member' });
  t.match(viewOf(notesTable)({ ...shown, written_at: '2026-12-01T10:00:00+00:00', read_at: '2026-12-01T11:00:00+00:00' }), { writtenAt: '2026-12-01T10:00:00.000Z', readAt: '2026-12-01T11:00:00.000Z' }, 'timestamps that arrive as text (from a JSON array)');
  t.same(shownColumns(notesTable, 'n'), ['n.note_id', 'n.text', 'n.written_at', 'n.read_at', 'n.stars', 'n.pinned', 'n.role']);
  t.same(shownFields(notesTable), [
    { field: 'noteId', kind: 'uuid', nullable: false },
    { field: 'text', kind: 'text', nullable: false },
    { field: 'writtenAt', kind: 'timestamp', nullable: false },
    { field: 'readAt', kind: 'timestamp', nullable: true },
    { field: 'stars', kind: 'integer', nullable: false },
    { field: 'pinned', kind: 'flag', nullable: false },
    { field: 'role', kind: 'role', nullable: false },
  ]);
});

/**
 * What the read models show of their tables, column by column: a field added later needs nothing
 * here; what must never be shown is named.
 */
t.test('the read models show their columns under these fields, and never what is only for queries', async (t) => {
  const shows = (columns: Record<string, Column<unknown>>, expected: Record<string, string>) => {
    for (const [name, field] of Object.entries(expected)) t.equal(columns[name]?.shownAs, field, `${name} as ${field}`);
  };
  shows(groupChatsTable.columns, { group_chat_id: 'groupChatId', name: 'name', owner_id: 'ownerId', created_at: 'createdAt', updated_at: 'updatedAt', version: 'version' });
  shows(membersTable.columns, { user_id: 'userId', role: 'role', joined_at: 'joinedAt' });
  shows(messagesTable.columns, { message_id: 'messageId', author_id: 'authorId', text: 'text', posted_at: 'postedAt', edited_at: 'editedAt' });
  t.equal(groupChatsTable.columns.deleted.shownAs, undefined, "a chat's deletion is not shown (a deleted chat is not found)");
  t.equal(membersTable.columns.group_chat_id.shownAs, undefined, "a member's chat is the chat it is shown in");
  t.equal(messagesTable.columns.group_chat_id.shownAs, undefined, "a message's chat is the chat it is listed in");
});

t.test('two columns shown under one field are refused where the table is declared', async (t) => {
  t.throws(() => table({ a: column.text({ shownAs: 'same' }), b: column.text({ shownAs: 'same' }) }, ['a']), /more than one column is shown as same/);
  // @ts-expect-error nullability is said as `true` or not at all, never by a value known only at run time
  column.text({ nullable: Math.random() > 2 });
});
