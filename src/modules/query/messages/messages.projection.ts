import type { Transaction } from 'kysely';
import type { MessageEvent } from '../../../contracts/events.ts';
import type { Commit } from '../../../eventstore/index.ts';
import type { Database } from '../database.ts';

/** Applies one commit of a Message stream to `messages`; a deleted message leaves no row. */
export async function projectMessageCommit(trx: Transaction<Database>, messageId: string, commit: Commit): Promise<void> {
  const at = new Date(commit.occurredAt);
  for (const event of commit.events as readonly MessageEvent[]) {
    switch (event.type) {
      case 'MessagePosted':
        await trx
          .insertInto('messages')
          .values({
            message_id: messageId,
            group_chat_id: event.data.groupChatId,
            author_id: event.data.authorId,
            text: event.data.text,
            posted_at: at,
            edited_at: null,
          })
          .execute();
        break;
      case 'MessageEdited':
        await trx.updateTable('messages').set({ text: event.data.text, edited_at: at }).where('message_id', '=', messageId).execute();
        break;
      case 'MessageDeleted':
        await trx.deleteFrom('messages').where('message_id', '=', messageId).execute();
        break;
      default:
        break;
    }
  }
}
