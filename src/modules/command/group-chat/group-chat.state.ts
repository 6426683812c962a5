import type { GroupChatEvent, Role } from '../../../contracts/events.ts';
import { gone, notFound } from '../domain-error.ts';
import type { DomainError } from '../domain-error.ts';

/** What decisions about a chat need: who is in it with which role, its name, whether it is deleted. */
export type GroupChatState =
  | { readonly status: 'absent' }
  | {
      readonly status: 'active' | 'deleted';
      readonly name: string;
      readonly ownerId: string;
      /** user id → role. A Map: a user id is data, never an object key (`constructor` is a user). */
      readonly members: ReadonlyMap<string, Role>;
    };

export const initialGroupChatState: GroupChatState = { status: 'absent' };

export function evolveGroupChat(state: GroupChatState, event: GroupChatEvent): GroupChatState {
  switch (event.type) {
    case 'GroupChatCreated':
      return { status: 'active', name: event.data.name, ownerId: event.data.ownerId, members: new Map() };
    case 'GroupChatRenamed':
      return state.status === 'absent' ? state : { ...state, name: event.data.name };
    case 'MemberAdded':
    case 'MemberRoleChanged':
      return state.status === 'absent'
        ? state
        : { ...state, members: new Map(state.members).set(event.data.userId, event.data.role) };
    case 'MemberRemoved': {
      if (state.status === 'absent') return state;
      const members = new Map(state.members);
      members.delete(event.data.userId);
      return { ...state, members };
    }
    case 'GroupChatDeleted':
      return state.status === 'absent' ? state : { ...state, status: 'deleted' };
    default: {
      // An event type this version does not know (written by a newer one) changes nothing here.
      const _unknown: never = event;
      return state;
    }
  }
}

export type ExistingGroupChat = Exclude<GroupChatState, { status: 'absent' }>;

/**
 * The caller's role in a chat it may act on. A chat that does not exist and a chat the caller
 * is not in look the same (404), so a non-member learns nothing; a member of a deleted chat
 * gets 410.
 */
export function memberAccess(state: GroupChatState, actorId: string): { chat: ExistingGroupChat; role: Role } | DomainError {
  const role = state.status === 'absent' ? undefined : state.members.get(actorId);
  if (state.status === 'absent' || role === undefined) return notFound('group chat not found');
  if (state.status === 'deleted') return gone('group chat was deleted');
  return { chat: state, role };
}

export const adminCount = (members: ReadonlyMap<string, Role>): number =>
  [...members.values()].filter((role) => role === 'admin').length;
