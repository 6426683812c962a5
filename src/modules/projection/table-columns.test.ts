import t from 'tap';
import { groupChatsTable, membersTable } from './group-chats/group-chats.projection.ts';
import { messagesTable } from './messages/messages.projection.ts';
import { fromExcluded, newRow, shownColumns, shownFields, viewOf } from './table-columns.ts';
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

t.test('a column says at run time whether it holds NULL, as its type does, and which field shows it', async (t) => {
  t.same(messagesTable.columns.edited_at, { kind: 'timestamp', nullable: true, shownAs: 'editedAt' });
  t.same(messagesTable.columns.text, { kind: 'text', nullable: false, shownAs: 'text' });
  t.same(messagesTable.columns.group_chat_id, { kind: 'uuid', nullable: false }, 'a column no view shows');
});

t.test('a new row: the values given, NULL where a column admits it and none was given', async (t) => {
  const posted = new Date('2026-12-01T10:00:00Z');
  const values = { message_id: 'm', group_chat_id: 'g', author_id: 'alice', text: 'hi', posted_at: posted };
  t.same(newRow(messagesTable, values), { ...values, edited_at: null });
  t.same(Object.keys(newRow(messagesTable, values)), Object.keys(messagesTable.columns), 'every declared column, in order');
  t.same(newRow(messagesTable, { ...values, edited_at: posted }).edited_at, posted, 'a value given is kept');
  // @ts-expect-error a column that cannot be NULL must be given
  newRow(messagesTable, { message_id: 'm', group_chat_id: 'g', author_id: 'alice', text: 'hi' });
});

t.test("a view: each shown column under its field, timestamps as ISO 8601 text, NULL kept", async (t) => {
  const row = { message_id: 'm', author_id: 'alice', text: 'hi', posted_at: new Date('2026-12-01T10:00:00Z'), edited_at: null };
  t.same(viewOf(messagesTable)(row), { messageId: 'm', authorId: 'alice', text: 'hi', postedAt: '2026-12-01T10:00:00.000Z', editedAt: null });
  t.same(viewOf(membersTable)({ user_id: 'bob', role: 'member', joined_at: '2026-12-01T10:00:00+00:00' }), { userId: 'bob', role: 'member', joinedAt: '2026-12-01T10:00:00.000Z' }, 'a timestamp that arrives as text (from a JSON array)');
  t.same(shownColumns(messagesTable, 'msg'), ['msg.message_id', 'msg.author_id', 'msg.text', 'msg.posted_at', 'msg.edited_at']);
  t.same(
    shownFields(groupChatsTable).map(({ field }) => field),
    ['groupChatId', 'name', 'ownerId', 'createdAt', 'updatedAt', 'version'],
    'deleted is not shown',
  );
});
