import type { Insertable, Selectable } from 'kysely';

/** Live messages only: a deleted message's row is removed. */
export interface MessagesTable {
  message_id: string;
  group_chat_id: string;
  author_id: string;
  text: string;
  posted_at: Date;
  edited_at: Date | null;
}

export type MessageRow = Selectable<MessagesTable>;
export type NewMessageRow = Insertable<MessagesTable>;
