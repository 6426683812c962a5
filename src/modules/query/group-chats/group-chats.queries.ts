import { sql } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import type { Kysely } from 'kysely';
import { shownColumns, tables, viewOf } from '../../projection/index.ts';
import type { Database, GroupChatView, MemberView } from '../../projection/index.ts';
import { encodePageCursor } from '../page-cursor.ts';
import type { PageCursor } from '../page-cursor.ts';

/**
 * Both views of a chat show what `groupChatsTable` shows (`GroupChatView`): a column declared
 * there with a field name is in the list's items and in the chat's own answer without a line here.
 */
const chatOf = viewOf(tables.group_chats);
const memberOf = viewOf(tables.members);

export interface GroupChatSummary extends GroupChatView {
  /** The caller's role in the chat. */
  readonly role: 'admin' | 'member';
  readonly memberCount: number;
  readonly lastMessageAt: string | null;
}

export interface GroupChatDetails extends GroupChatView {
  readonly members: readonly MemberView[];
}

const iso = (value: Date | string): string => new Date(value).toISOString();

export interface GroupChatPage {
  readonly items: readonly GroupChatSummary[];
  readonly nextCursor: string | null;
}

/**
 * A page of the chats the user belongs to, newest activity (a change of the chat or a message)
 * first, strictly after `before` when given. The activity is computed here rather than
 * projected, so no projection depends on another stream having been applied first.
 */
export async function listGroupChats(
  db: Kysely<Database>,
  userId: string,
  page: { readonly limit: number; readonly before?: PageCursor },
): Promise<GroupChatPage> {
  const activity = sql<Date>`greatest(c.updated_at, coalesce(c.last_message_at, c.updated_at))`;
  let query = db
    .selectFrom((eb) =>
      eb
        .selectFrom('members as me')
        .innerJoin('group_chats as g', 'g.group_chat_id', 'me.group_chat_id')
        .where('me.user_id', '=', userId)
        .where('g.deleted', '=', false)
        .select(shownColumns(tables.group_chats, 'g'))
        .select((eb) => [
          'me.role as caller_role',
          eb
            .selectFrom('members as m')
            .whereRef('m.group_chat_id', '=', 'g.group_chat_id')
            .select((inner) => inner.fn.countAll<string>().as('count'))
            .as('member_count'),
          eb
            .selectFrom('messages as msg')
            .whereRef('msg.group_chat_id', '=', 'g.group_chat_id')
            .select((inner) => inner.fn.max('msg.posted_at').as('latest'))
            .as('last_message_at'),
        ])
        .as('c'),
    )
    .selectAll('c')
    .select(activity.as('activity'))
    .orderBy(activity, 'desc')
    .orderBy('c.group_chat_id', 'desc')
    .limit(page.limit + 1);
  const { before } = page;
  if (before) query = query.where((eb) => eb(eb.tuple(activity, eb.ref('c.group_chat_id')), '<', eb.tuple(before.at, before.id)));
  const rows = await query.execute();
  const items = rows.slice(0, page.limit);
  const last = items[items.length - 1];
  return {
    items: items.map((row) => ({
      ...chatOf(row),
      role: row.caller_role,
      memberCount: Number(row.member_count ?? 0),
      lastMessageAt: row.last_message_at ? iso(row.last_message_at) : null,
    })),
    nextCursor: rows.length > page.limit && last ? encodePageCursor({ at: new Date(last.activity), id: last.group_chat_id }) : null,
  };
}

/**
 * One chat with its members, or undefined when it is unknown, deleted, or the user is not in it:
 * one round trip (the members come as a JSON array of the same query).
 */
export async function findGroupChat(db: Kysely<Database>, groupChatId: string, userId: string): Promise<GroupChatDetails | undefined> {
  const chat = await db
    .selectFrom('group_chats as g')
    .innerJoin('members as me', (join) => join.onRef('me.group_chat_id', '=', 'g.group_chat_id').on('me.user_id', '=', userId))
    .where('g.group_chat_id', '=', groupChatId)
    .where('g.deleted', '=', false)
    .select(shownColumns(tables.group_chats, 'g'))
    .select((eb) =>
      jsonArrayFrom(
        eb
          .selectFrom('members as m')
          .select(shownColumns(tables.members, 'm'))
          .whereRef('m.group_chat_id', '=', 'g.group_chat_id')
          .orderBy('m.joined_at')
          .orderBy('m.user_id'),
      ).as('members'),
    )
    .executeTakeFirst();
  if (!chat) return undefined;
  return { ...chatOf(chat), members: chat.members.map(memberOf) };
}

/** Whether the user may read the chat: a member of a chat that is not deleted. */
export async function isMember(db: Kysely<Database>, groupChatId: string, userId: string): Promise<boolean> {
  const row = await db
    .selectFrom('members as m')
    .innerJoin('group_chats as g', 'g.group_chat_id', 'm.group_chat_id')
    .select('m.user_id')
    .where('m.group_chat_id', '=', groupChatId)
    .where('m.user_id', '=', userId)
    .where('g.deleted', '=', false)
    .executeTakeFirst();
  return row !== undefined;
}
