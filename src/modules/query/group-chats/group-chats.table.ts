import type { Insertable } from 'kysely';

export interface GroupChatsTable {
  group_chat_id: string;
  name: string;
  owner_id: string;
  created_at: Date;
  updated_at: Date;
  /** The chat stream's version: what If-Match on a command compares with. */
  version: number;
  deleted: boolean;
}

export type NewGroupChatRow = Insertable<GroupChatsTable>;

export interface MembersTable {
  group_chat_id: string;
  user_id: string;
  role: 'admin' | 'member';
  joined_at: Date;
}

export type NewMemberRow = Insertable<MembersTable>;
