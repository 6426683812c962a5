import type { MessageEvent } from '../../../contracts/events.ts';
import { DomainError, conflict, forbidden, notFound } from '../domain-error.ts';
import type { Decision } from '../domain-error.ts';
import { memberAccess } from '../group-chat/group-chat.state.ts';
import type { GroupChatState } from '../group-chat/group-chat.state.ts';
import { checkText } from '../rules.ts';
import type { MessageState } from './message.state.ts';

export type PostMessage = { readonly type: 'PostMessage'; readonly actorId: string; readonly groupChatId: string; readonly text: string };
export type EditMessage = { readonly type: 'EditMessage'; readonly actorId: string; readonly groupChatId: string; readonly text: string };
export type DeleteMessage = { readonly type: 'DeleteMessage'; readonly actorId: string; readonly groupChatId: string };

export type MessageCommand = PostMessage | EditMessage | DeleteMessage;

/** A message decision also reads the chat it belongs to (membership, roles); it never writes it. */
export interface MessageDecisionState {
  readonly message: MessageState;
  readonly chat: GroupChatState;
}

type Result = Decision<MessageEvent>;

export function decideMessage(command: MessageCommand, state: MessageDecisionState): Result {
  switch (command.type) {
    case 'PostMessage':
      return post(command, state);
    case 'EditMessage':
      return edit(command, state);
    case 'DeleteMessage':
      return remove(command, state);
    default: {
      const unknown: never = command;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

function post(command: PostMessage, { message, chat }: MessageDecisionState): Result {
  const access = memberAccess(chat, command.actorId);
  if (access instanceof DomainError) return access;
  if (message.status !== 'absent') return conflict('message already exists');
  const text = checkText(command.text);
  if (text instanceof DomainError) return text;
  return [{ type: 'MessagePosted', data: { groupChatId: command.groupChatId, authorId: command.actorId, text } }];
}

function edit(command: EditMessage, state: MessageDecisionState): Result {
  const found = existingMessage(command, state);
  if (found instanceof DomainError) return found;
  if (found.message.authorId !== command.actorId) return forbidden('only the author may edit a message');
  const text = checkText(command.text);
  if (text instanceof DomainError) return text;
  return [{ type: 'MessageEdited', data: { text } }];
}

function remove(command: DeleteMessage, state: MessageDecisionState): Result {
  const found = existingMessage(command, state);
  if (found instanceof DomainError) return found;
  if (found.message.authorId !== command.actorId && found.role !== 'admin') {
    return forbidden('only the author or an admin may delete a message');
  }
  return [{ type: 'MessageDeleted', data: {} }];
}

/** The live message of this chat the caller may see; deleted, unknown and foreign ones are 404. */
function existingMessage(command: EditMessage | DeleteMessage, { message, chat }: MessageDecisionState) {
  const access = memberAccess(chat, command.actorId);
  if (access instanceof DomainError) return access;
  if (message.status !== 'posted' || message.groupChatId !== command.groupChatId) return notFound('message not found');
  return { message, role: access.role };
}
