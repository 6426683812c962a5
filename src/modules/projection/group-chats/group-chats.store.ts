import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import { inChunks, sameRow } from '../row-changes.ts';
import type { RowChange } from '../row-changes.ts';
import type { GroupChatRows } from './group-chats.projection.ts';
import { fromExcluded } from '../table-columns.ts';
import { groupChatsTable, membersTable } from './group-chats.projection.ts';
import type { GroupChatRow, MemberRow } from './group-chats.projection.ts';

/** The projected rows of these chats as the database holds them now (one query per table). */
export async function loadGroupChatRows(db: Kysely<Database>, groupChatIds: readonly string[]): Promise<Map<string, GroupChatRows>> {
  const chats = new Map<string, GroupChatRow>();
  const members = new Map<string, Map<string, MemberRow>>();
  if (groupChatIds.length > 0) {
    for (const row of await db.selectFrom('group_chats').selectAll().where('group_chat_id', 'in', groupChatIds).execute()) chats.set(row.group_chat_id, row);
    for (const row of await db.selectFrom('members').selectAll().where('group_chat_id', 'in', groupChatIds).execute()) {
      let ofChat = members.get(row.group_chat_id);
      if (!ofChat) members.set(row.group_chat_id, (ofChat = new Map()));
      ofChat.set(row.user_id, row);
    }
  }
  return new Map(groupChatIds.map((id) => [id, { chat: chats.get(id), members: members.get(id) ?? new Map() }]));
}

/**
 * Writes what the fold changed, in a few multi-row statements whatever the number of chats:
 * changed chat rows and members are upserted, members no longer there deleted; unchanged rows
 * are left alone.
 */
export async function saveGroupChatRows(db: Kysely<Database>, changes: readonly RowChange<GroupChatRows>[]): Promise<void> {
  const chats: GroupChatRow[] = [];
  const members: MemberRow[] = [];
  const gone: (readonly [string, string])[] = [];
  for (const { before, after } of changes) {
    if (after.chat && !sameRow(before.chat, after.chat)) chats.push(after.chat);
    for (const [userId, member] of after.members) if (!sameRow(before.members.get(userId), member)) members.push(member);
    for (const [userId, member] of before.members) if (!after.members.has(userId)) gone.push([member.group_chat_id, userId]);
  }
  await inChunks(chats, (chunk) =>
    db
      .insertInto('group_chats')
      .values(chunk)
      .onConflict((c) => c.columns(groupChatsTable.key).doUpdateSet(fromExcluded(groupChatsTable)))
      .execute(),
  );
  await inChunks(gone, (chunk) =>
    db
      .deleteFrom('members')
      .where((eb) => eb(eb.refTuple('group_chat_id', 'user_id'), 'in', chunk.map(([chat, user]) => eb.tuple(chat, user))))
      .execute(),
  );
  await inChunks(members, (chunk) =>
    db
      .insertInto('members')
      .values(chunk)
      .onConflict((c) => c.columns(membersTable.key).doUpdateSet(fromExcluded(membersTable)))
      .execute(),
  );
}
