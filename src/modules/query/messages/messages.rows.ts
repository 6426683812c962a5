import type { MessageEvent } from '../../../contracts/events.ts';
import type { Commit } from '../../../eventstore/index.ts';
import type { NewMessageRow } from './messages.table.ts';

/**
 * The same projection as `projectMessageCommit`, as a pure function of the row and a commit
 * (bulk loads); a deleted message has no row.
 */
export function foldMessageRow(row: NewMessageRow | undefined, messageId: string, commit: Commit): NewMessageRow | undefined {
  const at = new Date(commit.occurredAt);
  let next = row;
  for (const event of commit.events as readonly MessageEvent[]) {
    switch (event.type) {
      case 'MessagePosted':
        next = { message_id: messageId, group_chat_id: event.data.groupChatId, author_id: event.data.authorId, text: event.data.text, posted_at: at, edited_at: null };
        break;
      case 'MessageEdited':
        if (next) next = { ...next, text: event.data.text, edited_at: at };
        break;
      case 'MessageDeleted':
        next = undefined;
        break;
      default:
        break;
    }
  }
  return next;
}
