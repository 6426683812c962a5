import type { GroupChatEvent } from '../../../contracts/events.ts';
import type { Commit } from '../../../eventstore/index.ts';
import { UnknownEventTypeError } from '../projection-errors.ts';
import { column, newRow, table } from '../table-columns.ts';
import type { RowOf, ViewOf } from '../table-columns.ts';

/**
 * The group chats read model: its tables, each column declared once (table-columns.ts says what
 * follows from a declaration), and its fold. A column shown as a field is part of every view of a
 * chat the API gives (the list's and the chat's own).
 */
export const groupChatsTable = table(
  {
    group_chat_id: column.uuid({ shownAs: 'groupChatId' }),
    name: column.text({ shownAs: 'name' }),
    owner_id: column.text({ shownAs: 'ownerId' }),
    created_at: column.timestamp({ shownAs: 'createdAt' }),
    updated_at: column.timestamp({ shownAs: 'updatedAt' }),
    /** The chat stream's version: what If-Match on a command compares with. */
    version: column.integer({ shownAs: 'version' }),
    deleted: column.flag({ initially: false }),
  },
  ['group_chat_id'],
);

export type GroupChatsTable = RowOf<typeof groupChatsTable>;
export type GroupChatRow = GroupChatsTable;
/** A chat as every view of it shows it. */
export type GroupChatView = ViewOf<typeof groupChatsTable>;

export const membersTable = table(
  {
    group_chat_id: column.uuid(),
    user_id: column.text({ shownAs: 'userId' }),
    role: column.role({ shownAs: 'role' }),
    joined_at: column.timestamp({ shownAs: 'joinedAt' }),
  },
  ['group_chat_id', 'user_id'],
);

export type MembersTable = RowOf<typeof membersTable>;
export type MemberRow = MembersTable;
export type MemberView = ViewOf<typeof membersTable>;

/** The rows one chat stream projects to: its `group_chats` row and its `members` rows by user id. */
export interface GroupChatRows {
  readonly chat: GroupChatRow | undefined;
  readonly members: ReadonlyMap<string, MemberRow>;
}

export const noGroupChatRows: GroupChatRows = { chat: undefined, members: new Map() };

/**
 * The projection of a GroupChat stream: the rows after one more commit, as a pure function of
 * the rows before it. The only statement of this read model's rules: the live projector folds
 * inside its transaction and writes the result, the rebuild folds the whole log in memory.
 * Members live in a Map keyed by user id, so `__proto__` or `constructor` are ordinary users.
 */
export function projectGroupChat(rows: GroupChatRows, groupChatId: string, commit: Commit): GroupChatRows {
  const at = new Date(commit.occurredAt);
  let chat = rows.chat;
  const members = new Map(rows.members);
  for (const event of commit.events as readonly GroupChatEvent[]) {
    switch (event.type) {
      case 'GroupChatCreated':
        chat = newRow(groupChatsTable, { group_chat_id: groupChatId, name: event.data.name, owner_id: event.data.ownerId, created_at: at, updated_at: at, version: commit.version });
        break;
      case 'GroupChatRenamed':
        if (chat) chat = { ...chat, name: event.data.name };
        break;
      case 'MemberAdded': {
        const existing = members.get(event.data.userId);
        members.set(event.data.userId, existing ? { ...existing, role: event.data.role } : newRow(membersTable, { group_chat_id: groupChatId, user_id: event.data.userId, role: event.data.role, joined_at: at }));
        break;
      }
      case 'MemberRoleChanged': {
        const existing = members.get(event.data.userId);
        if (existing) members.set(event.data.userId, { ...existing, role: event.data.role });
        break;
      }
      case 'MemberRemoved':
        members.delete(event.data.userId);
        break;
      case 'GroupChatDeleted':
        if (chat) chat = { ...chat, deleted: true };
        break;
      default: {
        // A type the log holds but this reader does not know: a projection failure, never skipped.
        const unknown: never = event;
        throw new UnknownEventTypeError(commit.streamId, commit.version, (unknown as { type: unknown }).type);
      }
    }
  }
  if (chat) chat = { ...chat, version: commit.version, updated_at: at };
  return { chat, members };
}
