import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import type { MessageRow } from './messages.table.ts';
import { encodeCursor } from './message-cursor.ts';
import type { MessageCursor } from './message-cursor.ts';

export interface MessageView {
  readonly messageId: string;
  readonly authorId: string;
  readonly text: string;
  readonly postedAt: string;
  readonly editedAt: string | null;
}

export interface MessagePage {
  readonly items: readonly MessageView[];
  readonly nextCursor: string | null;
}

const toView = (row: MessageRow): MessageView => ({
  messageId: row.message_id,
  authorId: row.author_id,
  text: row.text,
  postedAt: new Date(row.posted_at).toISOString(),
  editedAt: row.edited_at ? new Date(row.edited_at).toISOString() : null,
});

/** A page of a chat's messages, newest first, strictly older than `before` when given. */
export async function listMessages(
  db: Kysely<Database>,
  groupChatId: string,
  page: { readonly limit: number; readonly before?: MessageCursor },
): Promise<MessagePage> {
  let query = db
    .selectFrom('messages')
    .selectAll()
    .where('group_chat_id', '=', groupChatId)
    .orderBy('posted_at', 'desc')
    .orderBy('message_id', 'desc')
    .limit(page.limit + 1);
  const { before } = page;
  if (before) {
    query = query.where((eb) => eb(eb.refTuple('posted_at', 'message_id'), '<', eb.tuple(before.postedAt, before.messageId)));
  }
  const rows = await query.execute();
  const items = rows.slice(0, page.limit);
  const last = items[items.length - 1];
  return {
    items: items.map(toView),
    nextCursor: rows.length > page.limit && last ? encodeCursor({ postedAt: new Date(last.posted_at), messageId: last.message_id }) : null,
  };
}

/** The chat a live message belongs to, or undefined for an unknown or deleted message. */
export async function chatOfMessage(db: Kysely<Database>, messageId: string): Promise<string | undefined> {
  const row = await db.selectFrom('messages').select('group_chat_id').where('message_id', '=', messageId).executeTakeFirst();
  return row?.group_chat_id;
}
