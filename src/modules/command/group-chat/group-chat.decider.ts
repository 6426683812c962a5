import type { GroupChatEvent, Role } from '../../../contracts/events.ts';
import { DomainError, conflict, forbidden, gone, notFound } from '../decider.ts';
import type { Decider, Decision } from '../decider.ts';

/** A chat holds at most this many members. */
const maxMembers = 100;

// Commands arrive typed and shaped by the routes' joi schemas (a trimmed name within its bounds,
// a well-formed user id, a known role): the decider checks only rules of state.
export type CreateGroupChat = { readonly type: 'CreateGroupChat'; readonly actorId: string; readonly name: string };
export type RenameGroupChat = { readonly type: 'RenameGroupChat'; readonly actorId: string; readonly name: string };
export type AddMember = { readonly type: 'AddMember'; readonly actorId: string; readonly userId: string; readonly role: Role };
export type ChangeMemberRole = {
  readonly type: 'ChangeMemberRole';
  readonly actorId: string;
  readonly userId: string;
  readonly role: Role;
};
export type RemoveMember = { readonly type: 'RemoveMember'; readonly actorId: string; readonly userId: string };
export type DeleteGroupChat = { readonly type: 'DeleteGroupChat'; readonly actorId: string };

export type GroupChatCommand = CreateGroupChat | RenameGroupChat | AddMember | ChangeMemberRole | RemoveMember | DeleteGroupChat;

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

type Result = Decision<GroupChatEvent>;

export const groupChatDecider: Decider<GroupChatState, GroupChatCommand, GroupChatEvent> = {
  initialState: () => ({ status: 'absent' }),
  evolve,
  decide(command, state) {
    switch (command.type) {
      case 'CreateGroupChat':
        return create(command, state);
      case 'RenameGroupChat':
        return rename(command, state);
      case 'AddMember':
        return addMember(command, state);
      case 'ChangeMemberRole':
        return changeRole(command, state);
      case 'RemoveMember':
        return removeMember(command, state);
      case 'DeleteGroupChat':
        return deleteChat(command, state);
      default: {
        const unknown: never = command;
        throw new Error(`unknown command ${JSON.stringify(unknown)}`);
      }
    }
  },
};

function evolve(state: GroupChatState, event: GroupChatEvent): GroupChatState {
  if (event.type === 'GroupChatCreated') return { status: 'active', name: event.data.name, ownerId: event.data.ownerId, members: new Map() };
  // A stream starts with its creation; nothing before it describes a chat.
  if (state.status === 'absent') return state;
  switch (event.type) {
    case 'GroupChatRenamed':
      return { ...state, name: event.data.name };
    case 'MemberAdded':
    case 'MemberRoleChanged':
      return { ...state, members: new Map(state.members).set(event.data.userId, event.data.role) };
    case 'MemberRemoved': {
      const members = new Map(state.members);
      members.delete(event.data.userId);
      return { ...state, members };
    }
    case 'GroupChatDeleted':
      return { ...state, status: 'deleted' };
    default: {
      // An event type this version does not know (written by a newer one) changes nothing here.
      const _unknown: never = event;
      return state;
    }
  }
}

function create(command: CreateGroupChat, state: GroupChatState): Result {
  if (state.status !== 'absent') return conflict('group chat already exists');
  return [
    { type: 'GroupChatCreated', data: { name: command.name, ownerId: command.actorId } },
    { type: 'MemberAdded', data: { userId: command.actorId, role: 'admin' } },
  ];
}

function rename(command: RenameGroupChat, state: GroupChatState): Result {
  const chat = adminAccess(state, command.actorId, 'rename the group chat');
  if (chat instanceof DomainError) return chat;
  if (command.name === chat.name) return conflict('group chat already has this name');
  return [{ type: 'GroupChatRenamed', data: { name: command.name } }];
}

function addMember(command: AddMember, state: GroupChatState): Result {
  const chat = adminAccess(state, command.actorId, 'add members');
  if (chat instanceof DomainError) return chat;
  if (chat.members.has(command.userId)) return conflict(`${command.userId} is already a member`);
  if (chat.members.size >= maxMembers) return conflict(`a group chat has at most ${maxMembers} members`);
  return [{ type: 'MemberAdded', data: { userId: command.userId, role: command.role } }];
}

function changeRole(command: ChangeMemberRole, state: GroupChatState): Result {
  const chat = adminAccess(state, command.actorId, 'change roles');
  if (chat instanceof DomainError) return chat;
  const current = chat.members.get(command.userId);
  if (current === undefined) return notFound(`${command.userId} is not a member`);
  if (current === command.role) return conflict(`${command.userId} already has role ${command.role}`);
  if (current === 'admin' && adminCount(chat.members) === 1) return conflict('cannot demote the last admin');
  return [{ type: 'MemberRoleChanged', data: { userId: command.userId, role: command.role } }];
}

function removeMember(command: RemoveMember, state: GroupChatState): Result {
  const access = memberAccess(state, command.actorId);
  if (access instanceof DomainError) return access;
  const { chat, role } = access;
  if (role !== 'admin' && command.userId !== command.actorId) return forbidden('only an admin may remove other members');
  const target = chat.members.get(command.userId);
  if (target === undefined) return notFound(`${command.userId} is not a member`);
  if (target === 'admin' && adminCount(chat.members) === 1) return conflict('cannot remove the last admin');
  return [{ type: 'MemberRemoved', data: { userId: command.userId } }];
}

function deleteChat(command: DeleteGroupChat, state: GroupChatState): Result {
  const chat = adminAccess(state, command.actorId, 'delete the group chat');
  if (chat instanceof DomainError) return chat;
  return [{ type: 'GroupChatDeleted', data: {} }];
}

type ExistingGroupChat = Exclude<GroupChatState, { status: 'absent' }>;

/**
 * The caller's role in a chat it may act on. A chat that does not exist and a chat the caller
 * is not in look the same (404, same message), so a non-member learns nothing; a member of a
 * deleted chat gets 410.
 */
export function memberAccess(state: GroupChatState, actorId: string): { chat: ExistingGroupChat; role: Role } | DomainError {
  if (state.status === 'absent') return notFound('group chat not found');
  const role = state.members.get(actorId);
  if (role === undefined) return notFound('group chat not found');
  if (state.status === 'deleted') return gone('group chat was deleted');
  return { chat: state, role };
}

function adminAccess(state: GroupChatState, actorId: string, action: string): ExistingGroupChat | DomainError {
  const access = memberAccess(state, actorId);
  if (access instanceof DomainError) return access;
  if (access.role !== 'admin') return forbidden(`only an admin may ${action}`);
  return access.chat;
}

export const adminCount = (members: ReadonlyMap<string, Role>): number => [...members.values()].filter((role) => role === 'admin').length;
