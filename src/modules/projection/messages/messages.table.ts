import { column, table } from '../table-columns.ts';
import type { RowOf, ViewOf } from '../table-columns.ts';

/** Live messages only: a deleted message's row is removed. A column shown as a field is part of every message the API shows. */
export const messagesTable = table(
  {
    message_id: column.uuid({ shownAs: 'messageId' }),
    group_chat_id: column.uuid(),
    author_id: column.text({ shownAs: 'authorId' }),
    text: column.text({ shownAs: 'text' }),
    posted_at: column.timestamp({ shownAs: 'postedAt' }),
    edited_at: column.timestamp({ nullable: true, shownAs: 'editedAt' }),
  },
  ['message_id'],
);

export type MessagesTable = RowOf<typeof messagesTable>;
/** A whole row: the fold makes new ones with `newRow`, which leaves the columns that admit NULL at NULL. */
export type MessageRow = MessagesTable;
/** A message as the API shows it. */
export type MessageView = ViewOf<typeof messagesTable>;
