import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';

export interface GroupChatSummary {
  readonly groupChatId: string;
  readonly name: string;
  readonly role: 'admin' | 'member';
  readonly memberCount: number;
  readonly lastMessageAt: string | null;
  readonly version: number;
}

export interface GroupChatDetails {
  readonly groupChatId: string;
  readonly name: string;
  readonly ownerId: string;
  readonly members: readonly { readonly userId: string; readonly role: 'admin' | 'member'; readonly joinedAt: string }[];
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly version: number;
}

const iso = (value: Date | string): string => new Date(value).toISOString();

/** The chats the user belongs to, newest activity (a change or a message) first. */
export async function listGroupChats(db: Kysely<Database>, userId: string): Promise<GroupChatSummary[]> {
  const rows = await db
    .selectFrom('members as me')
    .innerJoin('group_chats as g', 'g.group_chat_id', 'me.group_chat_id')
    .where('me.user_id', '=', userId)
    .where('g.deleted', '=', false)
    .select((eb) => [
      'g.group_chat_id',
      'g.name',
      'me.role',
      'g.version',
      'g.updated_at',
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
    .execute();
  // A user is in a bounded number of chats; ordering by activity here keeps the SQL plain.
  const activity = (row: (typeof rows)[number]) =>
    Math.max(new Date(row.updated_at).getTime(), row.last_message_at ? new Date(row.last_message_at).getTime() : 0);
  return rows
    .sort((a, b) => activity(b) - activity(a) || (a.group_chat_id < b.group_chat_id ? -1 : 1))
    .map((row) => ({
      groupChatId: row.group_chat_id,
      name: row.name,
      role: row.role,
      memberCount: Number(row.member_count ?? 0),
      lastMessageAt: row.last_message_at ? iso(row.last_message_at) : null,
      version: row.version,
    }));
}

/** One chat with its members, or undefined when it is unknown, deleted, or the user is not in it. */
export async function findGroupChat(db: Kysely<Database>, groupChatId: string, userId: string): Promise<GroupChatDetails | undefined> {
  if (!(await isMember(db, groupChatId, userId))) return undefined;
  const chat = await db.selectFrom('group_chats').selectAll().where('group_chat_id', '=', groupChatId).executeTakeFirst();
  if (!chat) return undefined;
  const members = await db
    .selectFrom('members')
    .select(['user_id', 'role', 'joined_at'])
    .where('group_chat_id', '=', groupChatId)
    .orderBy('joined_at')
    .orderBy('user_id')
    .execute();
  return {
    groupChatId: chat.group_chat_id,
    name: chat.name,
    ownerId: chat.owner_id,
    members: members.map((m) => ({ userId: m.user_id, role: m.role, joinedAt: iso(m.joined_at) })),
    createdAt: iso(chat.created_at),
    updatedAt: iso(chat.updated_at),
    version: chat.version,
  };
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
