/**
 * The events of the group-chat domain: a public contract shared by the write side (which
 * appends them) and the read side (which projects them). Once written, an event type never
 * changes incompatibly: new fields are optional and old events stay readable.
 */

export type Role = 'admin' | 'member';
export const roles: readonly Role[] = ['admin', 'member'];

export type GroupChatCreated = { readonly type: 'GroupChatCreated'; readonly data: { readonly name: string; readonly ownerId: string } };
export type GroupChatRenamed = { readonly type: 'GroupChatRenamed'; readonly data: { readonly name: string } };
export type MemberAdded = { readonly type: 'MemberAdded'; readonly data: { readonly userId: string; readonly role: Role } };
export type MemberRoleChanged = { readonly type: 'MemberRoleChanged'; readonly data: { readonly userId: string; readonly role: Role } };
export type MemberRemoved = { readonly type: 'MemberRemoved'; readonly data: { readonly userId: string } };
export type GroupChatDeleted = { readonly type: 'GroupChatDeleted'; readonly data: Readonly<Record<string, never>> };

export type GroupChatEvent =
  | GroupChatCreated
  | GroupChatRenamed
  | MemberAdded
  | MemberRoleChanged
  | MemberRemoved
  | GroupChatDeleted;

export type MessagePosted = {
  readonly type: 'MessagePosted';
  readonly data: { readonly groupChatId: string; readonly authorId: string; readonly text: string };
};
export type MessageEdited = { readonly type: 'MessageEdited'; readonly data: { readonly text: string } };
export type MessageDeleted = { readonly type: 'MessageDeleted'; readonly data: Readonly<Record<string, never>> };

export type MessageEvent = MessagePosted | MessageEdited | MessageDeleted;

/** Every event type of each stream kind: what a reader must understand to apply a commit. */
export const groupChatEventTypes = [
  'GroupChatCreated',
  'GroupChatRenamed',
  'MemberAdded',
  'MemberRoleChanged',
  'MemberRemoved',
  'GroupChatDeleted',
] as const satisfies readonly GroupChatEvent['type'][];
export const messageEventTypes = ['MessagePosted', 'MessageEdited', 'MessageDeleted'] as const satisfies readonly MessageEvent['type'][];

// Compile-time proof that the lists name every event type of the unions above.
const everyGroupChatEvent: Exclude<GroupChatEvent['type'], (typeof groupChatEventTypes)[number]> extends never ? true : never = true;
const everyMessageEvent: Exclude<MessageEvent['type'], (typeof messageEventTypes)[number]> extends never ? true : never = true;
void everyGroupChatEvent;
void everyMessageEvent;
