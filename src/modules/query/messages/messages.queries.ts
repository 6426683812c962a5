import type { Kysely } from 'kysely';
import { shownColumns, tables, viewOf } from '../../projection/index.ts';
import type { Database, MessageView } from '../../projection/index.ts';
import { encodeCursor } from './message-cursor.ts';
import type { MessageCursor } from './message-cursor.ts';

export interface MessagePage {
  readonly items: readonly MessageView[];
  readonly nextCursor: string | null;
}

/** A message as the API shows it: the columns `messagesTable` shows, under their field names. */
const toView = viewOf(tables.messages);

/** A page of a chat's messages, newest first, strictly older than `before` when given. */
export async function listMessages(
  db: Kysely<Database>,
  groupChatId: string,
  page: { readonly limit: number; readonly before?: MessageCursor },
): Promise<MessagePage> {
  let query = db
    .selectFrom('messages as msg')
    .select(shownColumns(tables.messages, 'msg'))
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

/**
 * Whether the user may read the message's chat: a live message, in a chat that is not deleted,
 * of which the user is a member. One query, the same for a message that does not exist.
 */
export async function isMemberOfMessageChat(db: Kysely<Database>, messageId: string, userId: string): Promise<boolean> {
  const row = await db
    .selectFrom('messages as msg')
    .innerJoin('members as m', 'm.group_chat_id', 'msg.group_chat_id')
    .innerJoin('group_chats as g', 'g.group_chat_id', 'msg.group_chat_id')
    .select('m.user_id')
    .where('msg.message_id', '=', messageId)
    .where('m.user_id', '=', userId)
    .where('g.deleted', '=', false)
    .executeTakeFirst();
  return row !== undefined;
}
