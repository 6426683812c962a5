import type { GroupChatEvent, Role } from '../../../contracts/events.ts';
import { DomainError, conflict, forbidden, notFound } from '../domain-error.ts';
import type { Decision } from '../domain-error.ts';
import { checkName, checkRole, checkUserId, limits } from '../rules.ts';
import { adminCount, memberAccess } from './group-chat.state.ts';
import type { GroupChatState } from './group-chat.state.ts';

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

export type GroupChatCommand =
  | CreateGroupChat
  | RenameGroupChat
  | AddMember
  | ChangeMemberRole
  | RemoveMember
  | DeleteGroupChat;

type Result = Decision<GroupChatEvent>;

export function decideGroupChat(command: GroupChatCommand, state: GroupChatState): Result {
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
      return remove(command, state);
    default: {
      const unknown: never = command;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

function create(command: CreateGroupChat, state: GroupChatState): Result {
  if (state.status !== 'absent') return conflict('group chat already exists');
  const name = checkName(command.name);
  if (name instanceof DomainError) return name;
  return [
    { type: 'GroupChatCreated', data: { name, ownerId: command.actorId } },
    { type: 'MemberAdded', data: { userId: command.actorId, role: 'admin' } },
  ];
}

function rename(command: RenameGroupChat, state: GroupChatState): Result {
  const access = adminAccess(state, command.actorId, 'rename the group chat');
  if (access instanceof DomainError) return access;
  const name = checkName(command.name);
  if (name instanceof DomainError) return name;
  if (name === access.name) return conflict('group chat already has this name');
  return [{ type: 'GroupChatRenamed', data: { name } }];
}

function addMember(command: AddMember, state: GroupChatState): Result {
  const access = adminAccess(state, command.actorId, 'add members');
  if (access instanceof DomainError) return access;
  const invalid = checkUserId(command.userId) ?? checkRole(command.role);
  if (invalid) return invalid;
  if (access.members.has(command.userId)) return conflict(`${command.userId} is already a member`);
  if (access.members.size >= limits.maxMembers) {
    return conflict(`a group chat has at most ${limits.maxMembers} members`);
  }
  return [{ type: 'MemberAdded', data: { userId: command.userId, role: command.role } }];
}

function changeRole(command: ChangeMemberRole, state: GroupChatState): Result {
  const access = adminAccess(state, command.actorId, 'change roles');
  if (access instanceof DomainError) return access;
  const invalid = checkRole(command.role);
  if (invalid) return invalid;
  const current = access.members.get(command.userId);
  if (current === undefined) return notFound(`${command.userId} is not a member`);
  if (current === command.role) return conflict(`${command.userId} already has role ${command.role}`);
  if (current === 'admin' && adminCount(access.members) === 1) return conflict('cannot demote the last admin');
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

function remove(command: DeleteGroupChat, state: GroupChatState): Result {
  const access = adminAccess(state, command.actorId, 'delete the group chat');
  if (access instanceof DomainError) return access;
  return [{ type: 'GroupChatDeleted', data: {} }];
}

function adminAccess(state: GroupChatState, actorId: string, action: string) {
  const access = memberAccess(state, actorId);
  if (access instanceof DomainError) return access;
  if (access.role !== 'admin') return forbidden(`only an admin may ${action}`);
  return access.chat;
}
