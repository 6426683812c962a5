import { column, table } from '../table-columns.ts';
import type { RowOf, ViewOf } from '../table-columns.ts';

/** A column shown as a field is part of every view of a chat the API gives (the list's and the chat's own). */
export const groupChatsTable = table(
  {
    group_chat_id: column.uuid({ shownAs: 'groupChatId' }),
    name: column.text({ shownAs: 'name' }),
    owner_id: column.text({ shownAs: 'ownerId' }),
    created_at: column.timestamp({ shownAs: 'createdAt' }),
    updated_at: column.timestamp({ shownAs: 'updatedAt' }),
    /** The chat stream's version: what If-Match on a command compares with. */
    version: column.integer({ shownAs: 'version' }),
    deleted: column.flag(),
  },
  ['group_chat_id'],
);

export type GroupChatsTable = RowOf<typeof groupChatsTable>;
export type GroupChatRow = GroupChatsTable;
/** A chat as every view of it shows it. */
export type GroupChatView = ViewOf<typeof groupChatsTable>;

export const membersTable = table(
  {
    group_chat_id: column.uuid(),
    user_id: column.text({ shownAs: 'userId' }),
    role: column.role({ shownAs: 'role' }),
    joined_at: column.timestamp({ shownAs: 'joinedAt' }),
  },
  ['group_chat_id', 'user_id'],
);

export type MembersTable = RowOf<typeof membersTable>;
export type MemberRow = MembersTable;
export type MemberView = ViewOf<typeof membersTable>;
