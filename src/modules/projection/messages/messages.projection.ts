import type { MessageEvent } from '../../../contracts/events.ts';
import type { Commit } from '../../../eventstore/index.ts';
import { UnknownEventTypeError } from '../projection-errors.ts';
import { newRow } from '../table-columns.ts';
import { messagesTable } from './messages.table.ts';
import type { MessageRow } from './messages.table.ts';

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
