import t from 'tap';
import { groupChatsTable, membersTable } from './group-chats/group-chats.table.ts';
import { messagesTable } from './messages/messages.table.ts';
import { fromExcluded } from './table-columns.ts';
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

t.test('a column says at run time whether it holds NULL, as its type does', async (t) => {
  t.same(messagesTable.columns.edited_at, { nullable: true });
  t.same(messagesTable.columns.text, { nullable: false });
});
