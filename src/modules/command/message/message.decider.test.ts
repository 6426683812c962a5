import t from 'tap';
import type { GroupChatEvent, MessageEvent } from '../../../contracts/events.ts';
import { deciderSpec } from '../../../testing/decider-spec.ts';
import { evolveGroupChat, initialGroupChatState } from '../group-chat/group-chat.state.ts';
import { decideMessage } from './message.decider.ts';
import { evolveMessage, initialMessageState } from './message.state.ts';

const chatId = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
const otherChatId = '0190a1b2-c3d4-7e5f-8a9b-000000000000';

const chatOf = (events: GroupChatEvent[]) => events.reduce(evolveGroupChat, initialGroupChatState);
const chat: GroupChatEvent[] = [
  { type: 'GroupChatCreated', data: { name: 'Team', ownerId: 'alice' } },
  { type: 'MemberAdded', data: { userId: 'alice', role: 'admin' } },
  { type: 'MemberAdded', data: { userId: 'bob', role: 'member' } },
  { type: 'MemberAdded', data: { userId: 'carol', role: 'member' } },
];

/** The message spec, with the chat's history fixed for the case. */
const inChat = (chatEvents: GroupChatEvent[]) =>
  deciderSpec({
    initialState: { message: initialMessageState, chat: chatOf(chatEvents) },
    evolve: (state, event: MessageEvent) => ({ ...state, message: evolveMessage(state.message, event) }),
    decide: decideMessage,
  });

const posted: MessageEvent[] = [{ type: 'MessagePosted', data: { groupChatId: chatId, authorId: 'bob', text: 'hi' } }];

t.test('post', async (t) => {
  t.test('a member posts', async (t) => {
    inChat(chat)(t).given([]).when({ type: 'PostMessage', actorId: 'bob', groupChatId: chatId, text: 'hi\n  there\t!' }).then([
      { type: 'MessagePosted', data: { groupChatId: chatId, authorId: 'bob', text: 'hi\n  there\t!' } },
    ]);
  });
  t.test('a non-member or an unknown chat is 404', async (t) => {
    inChat(chat)(t).given([]).when({ type: 'PostMessage', actorId: 'eve', groupChatId: chatId, text: 'hi' }).thenError('not-found');
    inChat([])(t).given([]).when({ type: 'PostMessage', actorId: 'bob', groupChatId: chatId, text: 'hi' }).thenError('not-found');
  });
  t.test('into a deleted chat is gone', async (t) => {
    const gone: GroupChatEvent[] = [...chat, { type: 'GroupChatDeleted', data: {} }];
    inChat(gone)(t).given([]).when({ type: 'PostMessage', actorId: 'bob', groupChatId: chatId, text: 'hi' }).thenError('gone');
  });
  t.test('empty, blank, too long or control-character text is invalid', async (t) => {
    const when = (text: string) => inChat(chat)(t).given([]).when({ type: 'PostMessage', actorId: 'bob', groupChatId: chatId, text });
    when('').thenError('invalid');
    when(' \n\t ').thenError('invalid', /whitespace/);
    when('x'.repeat(4001)).thenError('invalid', /4000/);
    when('bell\u0007').thenError('invalid', /control/);
  });
  t.test('4000 characters is fine', async (t) => {
    const text = 'x'.repeat(4000);
    inChat(chat)(t).given([]).when({ type: 'PostMessage', actorId: 'bob', groupChatId: chatId, text }).then([
      { type: 'MessagePosted', data: { groupChatId: chatId, authorId: 'bob', text } },
    ]);
  });
  t.test('a message id already used is a conflict', async (t) => {
    inChat(chat)(t).given(posted).when({ type: 'PostMessage', actorId: 'bob', groupChatId: chatId, text: 'again' }).thenError('conflict');
  });
});

t.test('edit', async (t) => {
  t.test('by the author', async (t) => {
    inChat(chat)(t).given(posted).when({ type: 'EditMessage', actorId: 'bob', groupChatId: chatId, text: 'hello' }).then([
      { type: 'MessageEdited', data: { text: 'hello' } },
    ]);
  });
  t.test('by anyone else, even an admin, is forbidden', async (t) => {
    inChat(chat)(t).given(posted).when({ type: 'EditMessage', actorId: 'alice', groupChatId: chatId, text: 'x' }).thenError('forbidden');
    inChat(chat)(t).given(posted).when({ type: 'EditMessage', actorId: 'carol', groupChatId: chatId, text: 'x' }).thenError('forbidden');
  });
  t.test('an unknown, deleted or other chat\'s message is 404', async (t) => {
    inChat(chat)(t).given([]).when({ type: 'EditMessage', actorId: 'bob', groupChatId: chatId, text: 'x' }).thenError('not-found');
    inChat(chat)(t)
      .given([...posted, { type: 'MessageDeleted', data: {} }])
      .when({ type: 'EditMessage', actorId: 'bob', groupChatId: chatId, text: 'x' })
      .thenError('not-found');
    inChat(chat)(t).given(posted).when({ type: 'EditMessage', actorId: 'bob', groupChatId: otherChatId, text: 'x' }).thenError('not-found');
  });
  t.test('with invalid text', async (t) => {
    inChat(chat)(t).given(posted).when({ type: 'EditMessage', actorId: 'bob', groupChatId: chatId, text: '   ' }).thenError('invalid');
  });
  t.test('by an author who left the chat is 404', async (t) => {
    const left: GroupChatEvent[] = [...chat, { type: 'MemberRemoved', data: { userId: 'bob' } }];
    inChat(left)(t).given(posted).when({ type: 'EditMessage', actorId: 'bob', groupChatId: chatId, text: 'x' }).thenError('not-found');
  });
  t.test('in a deleted chat is gone', async (t) => {
    const gone: GroupChatEvent[] = [...chat, { type: 'GroupChatDeleted', data: {} }];
    inChat(gone)(t).given(posted).when({ type: 'EditMessage', actorId: 'bob', groupChatId: chatId, text: 'x' }).thenError('gone');
  });
});

t.test('delete', async (t) => {
  t.test('by the author', async (t) => {
    inChat(chat)(t).given(posted).when({ type: 'DeleteMessage', actorId: 'bob', groupChatId: chatId }).then([
      { type: 'MessageDeleted', data: {} },
    ]);
  });
  t.test('by an admin', async (t) => {
    inChat(chat)(t).given(posted).when({ type: 'DeleteMessage', actorId: 'alice', groupChatId: chatId }).then([
      { type: 'MessageDeleted', data: {} },
    ]);
  });
  t.test('by another plain member is forbidden', async (t) => {
    inChat(chat)(t).given(posted).when({ type: 'DeleteMessage', actorId: 'carol', groupChatId: chatId }).thenError('forbidden');
  });
  t.test('twice is 404', async (t) => {
    inChat(chat)(t)
      .given([...posted, { type: 'MessageDeleted', data: {} }])
      .when({ type: 'DeleteMessage', actorId: 'bob', groupChatId: chatId })
      .thenError('not-found');
  });
  t.test('an unknown message is 404', async (t) => {
    inChat(chat)(t).given([]).when({ type: 'DeleteMessage', actorId: 'alice', groupChatId: chatId }).thenError('not-found');
  });
  t.test('by a non-member is 404', async (t) => {
    inChat(chat)(t).given(posted).when({ type: 'DeleteMessage', actorId: 'eve', groupChatId: chatId }).thenError('not-found');
  });
});

t.test('an edit does not change what decisions need', async (t) => {
  const state = posted.reduce(evolveMessage, initialMessageState);
  t.equal(evolveMessage(state, { type: 'MessageEdited', data: { text: 'x' } }), state);
  t.equal(evolveMessage(state, { type: 'Unknown', data: {} } as never), state);
});
