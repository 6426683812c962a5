import type { MessageEvent } from '../../../contracts/events.ts';
import type { Commit } from '../../../eventstore/index.ts';
import { UnknownEventTypeError } from '../projection-errors.ts';
import { column, newRow, table } from '../table-columns.ts';
import type { RowOf, ViewOf } from '../table-columns.ts';

/**
 * The messages read model: its table, each column declared once (table-columns.ts says what
 * follows from a declaration), and its fold. Live messages only: a deleted message's row is
 * removed. A column shown as a field is part of every message the API shows.
 */
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

/**
 * The projection of a Message stream: its `messages` row after one more commit, as a pure
 * function of the row before it; a deleted message has no row. The only statement of this read
 * model's rules (see `projectGroupChat`).
 */
export function projectMessage(row: MessageRow | undefined, messageId: string, commit: Commit): MessageRow | undefined {
  const at = new Date(commit.occurredAt);
  let next = row;
  for (const event of commit.events as readonly MessageEvent[]) {
    switch (event.type) {
      case 'MessagePosted':
        next = newRow(messagesTable, { message_id: messageId, group_chat_id: event.data.groupChatId, author_id: event.data.authorId, text: event.data.text, posted_at: at });
        break;
      case 'MessageEdited':
        if (next) next = { ...next, text: event.data.text, edited_at: at };
        break;
      case 'MessageDeleted':
        next = undefined;
        break;
      default: {
        const unknown: never = event;
        throw new UnknownEventTypeError(commit.streamId, commit.version, (unknown as { type: unknown }).type);
      }
    }
  }
  return next;
}
