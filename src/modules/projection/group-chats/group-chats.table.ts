import { column, table } from '../table-columns.ts';
import type { RowOf } from '../table-columns.ts';

export const groupChatsTable = table(
  {
    group_chat_id: column<string>(),
    name: column<string>(),
    owner_id: column<string>(),
    created_at: column<Date>(),
    updated_at: column<Date>(),
    /** The chat stream's version: what If-Match on a command compares with. */
    version: column<number>(),
    deleted: column<boolean>(),
  },
  ['group_chat_id'],
);

export type GroupChatsTable = RowOf<typeof groupChatsTable>;
/** A whole row, every column set: the fold must say what a new column holds (none is left to a default). */
export type NewGroupChatRow = GroupChatsTable;

export const membersTable = table(
  {
    group_chat_id: column<string>(),
    user_id: column<string>(),
    role: column<'admin' | 'member'>(),
    joined_at: column<Date>(),
  },
  ['group_chat_id', 'user_id'],
);

export type MembersTable = RowOf<typeof membersTable>;
export type NewMemberRow = MembersTable;
