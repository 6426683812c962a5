import type { MessageEvent } from '../../../contracts/events.ts';
import { DomainError, conflict, forbidden, notFound } from '../decider.ts';
import type { Decider, Decision } from '../decider.ts';
import { memberAccess } from '../group-chat/group-chat.decider.ts';
import type { GroupChatState } from '../group-chat/group-chat.decider.ts';

// The text arrives shaped by the routes' joi schema (not blank, within bounds, no stray control
// characters): the decider checks only rules of state.
export type PostMessage = { readonly type: 'PostMessage'; readonly actorId: string; readonly groupChatId: string; readonly text: string };
export type EditMessage = { readonly type: 'EditMessage'; readonly actorId: string; readonly groupChatId: string; readonly text: string };
export type DeleteMessage = { readonly type: 'DeleteMessage'; readonly actorId: string; readonly groupChatId: string };

export type MessageCommand = PostMessage | EditMessage | DeleteMessage;

/** What decisions about a message need: where it lives, who wrote it, whether it is gone. */
type MessageState =
  | { readonly status: 'absent' }
  | { readonly status: 'posted' | 'deleted'; readonly groupChatId: string; readonly authorId: string };

type Result = Decision<MessageEvent>;

/** A message decision also reads the chat the message belongs to (membership, roles); it never writes it. */
export const messageDecider: Decider<MessageState, MessageCommand, MessageEvent, GroupChatState> = {
  initialState: () => ({ status: 'absent' }),
  evolve,
  decide(command, message, chat) {
    switch (command.type) {
      case 'PostMessage':
        return post(command, message, chat);
      case 'EditMessage':
        return edit(command, message, chat);
      case 'DeleteMessage':
        return deleteMessage(command, message, chat);
      default: {
        const unknown: never = command;
        throw new Error(`unknown command ${JSON.stringify(unknown)}`);
      }
    }
  },
};

function evolve(state: MessageState, event: MessageEvent): MessageState {
  if (event.type === 'MessagePosted') return { status: 'posted', groupChatId: event.data.groupChatId, authorId: event.data.authorId };
  // A stream starts with its post; nothing before it describes a message.
  if (state.status === 'absent') return state;
  if (event.type === 'MessageDeleted') return { ...state, status: 'deleted' };
  // An edit changes nothing a decision needs (the text is the read side's business), and neither
  // does an event type this version does not know (written by a newer one).
  return state;
}

function post(command: PostMessage, message: MessageState, chat: GroupChatState): Result {
  const access = memberAccess(chat, command.actorId);
  if (access instanceof DomainError) return access;
  if (message.status !== 'absent') return conflict('message already exists');
  return [{ type: 'MessagePosted', data: { groupChatId: command.groupChatId, authorId: command.actorId, text: command.text } }];
}

function edit(command: EditMessage, message: MessageState, chat: GroupChatState): Result {
  const found = existingMessage(command, message, chat);
  if (found instanceof DomainError) return found;
  if (found.authorId !== command.actorId) return forbidden('only the author may edit a message');
  return [{ type: 'MessageEdited', data: { text: command.text } }];
}

function deleteMessage(command: DeleteMessage, message: MessageState, chat: GroupChatState): Result {
  const found = existingMessage(command, message, chat);
  if (found instanceof DomainError) return found;
  if (found.authorId !== command.actorId && found.role !== 'admin') return forbidden('only the author or an admin may delete a message');
  return [{ type: 'MessageDeleted', data: {} }];
}

/** The live message of this chat the caller may see; deleted, unknown and foreign ones are 404. */
function existingMessage(command: EditMessage | DeleteMessage, message: MessageState, chat: GroupChatState) {
  const access = memberAccess(chat, command.actorId);
  if (access instanceof DomainError) return access;
  if (message.status !== 'posted' || message.groupChatId !== command.groupChatId) return notFound('message not found');
  return { authorId: message.authorId, role: access.role };
}
