import type { MessageEvent } from '../../../contracts/events.ts';

/** What decisions about a message need: where it lives, who wrote it, whether it is gone. */
export type MessageState =
  | { readonly status: 'absent' }
  | { readonly status: 'posted' | 'deleted'; readonly groupChatId: string; readonly authorId: string };

export const initialMessageState: MessageState = { status: 'absent' };

export function evolveMessage(state: MessageState, event: MessageEvent): MessageState {
  switch (event.type) {
    case 'MessagePosted':
      return { status: 'posted', groupChatId: event.data.groupChatId, authorId: event.data.authorId };
    case 'MessageEdited':
      return state;
    case 'MessageDeleted':
      return state.status === 'absent' ? state : { ...state, status: 'deleted' };
    default: {
      const _unknown: never = event;
      return state;
    }
  }
}
