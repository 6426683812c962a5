import type { Selectable } from 'kysely';
import { column, table } from '../table-columns.ts';
import type { RowOf } from '../table-columns.ts';

/** Live messages only: a deleted message's row is removed. */
export const messagesTable = table(
  {
    message_id: column<string>(),
    group_chat_id: column<string>(),
    author_id: column<string>(),
    text: column<string>(),
    posted_at: column<Date>(),
    edited_at: column<Date | null>({ nullable: true }),
  },
  ['message_id'],
);

export type MessagesTable = RowOf<typeof messagesTable>;
export type MessageRow = Selectable<MessagesTable>;
/** A whole row, every column set: the fold must say what a new column holds (none is left to a default). */
export type NewMessageRow = MessagesTable;
