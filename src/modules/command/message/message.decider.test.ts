import t from 'tap';
import type { GroupChatEvent, MessageEvent } from '../../../contracts/events.ts';
import { deciderSpec } from '../../../testing/decider-spec.ts';
import { groupChatDecider } from '../group-chat/group-chat.decider.ts';
import { messageDecider } from './message.decider.ts';

const chatId = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
const otherChatId = '0190a1b2-c3d4-7e5f-8a9b-000000000000';

const chatOf = (events: GroupChatEvent[]) => events.reduce(groupChatDecider.evolve, groupChatDecider.initialState());
const chat: GroupChatEvent[] = [
  { type: 'GroupChatCreated', data: { name: 'Team', ownerId: 'alice' } },
  { type: 'MemberAdded', data: { userId: 'alice', role: 'admin' } },
  { type: 'MemberAdded', data: { userId: 'bob', role: 'member' } },
  { type: 'MemberAdded', data: { userId: 'carol', role: 'member' } },
];

/** The message spec, with the history of the chat it reads fixed for the case. */
const inChat = (chatEvents: GroupChatEvent[]) => deciderSpec(messageDecider, chatOf(chatEvents));

const posted: MessageEvent[] = [{ type: 'MessagePosted', data: { groupChatId: chatId, authorId: 'bob', text: 'hi' } }];

t.test('post', async (t) => {
  t.test('a member posts', async (t) => {
    inChat(chat)(t).given([]).when({ type: 'PostMessage', actorId: 'bob', groupChatId: chatId, text: 'hi\n  there\t!' }).then([
      { type: 'MessagePosted', data: { groupChatId: chatId, authorId: 'bob', text: 'hi\n  there\t!' } },
    ]);
  });
  t.test('a non-member or an unknown chat is 404', async (t) => {
    inChat(chat)(t).given([]).when({ type: 'PostMessage', actorId: 'eve', groupChatId: chatId, text: 'hi' }).thenError('not-found', 'group chat not found');
    inChat([])(t).given([]).when({ type: 'PostMessage', actorId: 'bob', groupChatId: chatId, text: 'hi' }).thenError('not-found', 'group chat not found');
  });
  t.test('into a deleted chat is gone', async (t) => {
    const gone: GroupChatEvent[] = [...chat, { type: 'GroupChatDeleted', data: {} }];
    inChat(gone)(t).given([]).when({ type: 'PostMessage', actorId: 'bob', groupChatId: chatId, text: 'hi' }).thenError('gone', 'group chat was deleted');
  });
  t.test('a message id already used is a conflict', async (t) => {
    inChat(chat)(t).given(posted).when({ type: 'PostMessage', actorId: 'bob', groupChatId: chatId, text: 'again' }).thenError('conflict', 'message already exists');
  });
});

t.test('edit', async (t) => {
  t.test('by the author', async (t) => {
    inChat(chat)(t).given(posted).when({ type: 'EditMessage', actorId: 'bob', groupChatId: chatId, text: 'hello' }).then([
      { type: 'MessageEdited', data: { text: 'hello' } },
    ]);
  });
  t.test('by anyone else, even an admin, is forbidden', async (t) => {
    inChat(chat)(t).given(posted).when({ type: 'EditMessage', actorId: 'alice', groupChatId: chatId, text: 'x' }).thenError('forbidden', 'only the author may edit a message');
    inChat(chat)(t).given(posted).when({ type: 'EditMessage', actorId: 'carol', groupChatId: chatId, text: 'x' }).thenError('forbidden', 'only the author may edit a message');
  });
  t.test('an unknown, deleted or other chat\'s message is 404', async (t) => {
    inChat(chat)(t).given([]).when({ type: 'EditMessage', actorId: 'bob', groupChatId: chatId, text: 'x' }).thenError('not-found', 'message not found');
    inChat(chat)(t)
      .given([...posted, { type: 'MessageDeleted', data: {} }])
      .when({ type: 'EditMessage', actorId: 'bob', groupChatId: chatId, text: 'x' })
      .thenError('not-found', 'message not found');
    inChat(chat)(t).given(posted).when({ type: 'EditMessage', actorId: 'bob', groupChatId: otherChatId, text: 'x' }).thenError('not-found', 'message not found');
  });
  t.test('by an author who left the chat is 404', async (t) => {
    const left: GroupChatEvent[] = [...chat, { type: 'MemberRemoved', data: { userId: 'bob' } }];
    inChat(left)(t).given(posted).when({ type: 'EditMessage', actorId: 'bob', groupChatId: chatId, text: 'x' }).thenError('not-found', 'group chat not found');
  });
  t.test('in a deleted chat is gone', async (t) => {
    const gone: GroupChatEvent[] = [...chat, { type: 'GroupChatDeleted', data: {} }];
    inChat(gone)(t).given(posted).when({ type: 'EditMessage', actorId: 'bob', groupChatId: chatId, text: 'x' }).thenError('gone', 'group chat was deleted');
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
    inChat(chat)(t).given(posted).when({ type: 'DeleteMessage', actorId: 'carol', groupChatId: chatId }).thenError('forbidden', 'only the author or an admin may delete a message');
  });
  t.test('twice is 404', async (t) => {
    inChat(chat)(t)
      .given([...posted, { type: 'MessageDeleted', data: {} }])
      .when({ type: 'DeleteMessage', actorId: 'bob', groupChatId: chatId })
      .thenError('not-found', 'message not found');
  });
  t.test('an unknown message is 404', async (t) => {
    inChat(chat)(t).given([]).when({ type: 'DeleteMessage', actorId: 'alice', groupChatId: chatId }).thenError('not-found', 'message not found');
  });
  t.test('by a non-member is 404', async (t) => {
    inChat(chat)(t).given(posted).when({ type: 'DeleteMessage', actorId: 'eve', groupChatId: chatId }).thenError('not-found', 'group chat not found');
  });
  t.test("another chat's message is 404, even for an admin", async (t) => {
    inChat(chat)(t).given(posted).when({ type: 'DeleteMessage', actorId: 'alice', groupChatId: otherChatId }).thenError('not-found', 'message not found');
  });
  t.test('in a deleted chat is gone', async (t) => {
    const gone: GroupChatEvent[] = [...chat, { type: 'GroupChatDeleted', data: {} }];
    inChat(gone)(t).given(posted).when({ type: 'DeleteMessage', actorId: 'bob', groupChatId: chatId }).thenError('gone', 'group chat was deleted');
  });
});

t.test('an edit, or an event this version does not know, does not change what decisions need', async (t) => {
  const { evolve } = messageDecider;
  const state = posted.reduce(evolve, messageDecider.initialState());
  t.equal(evolve(state, { type: 'MessageEdited', data: { text: 'x' } }), state);
  t.equal(evolve(state, { type: 'Unknown', data: {} } as never), state);
});

t.test('the state a message folds into: where it lives, who wrote it, whether it is gone', async (t) => {
  const { evolve, initialState } = messageDecider;
  t.same(initialState(), { status: 'absent' });
  const state = posted.reduce(evolve, initialState());
  t.same(state, { status: 'posted', groupChatId: chatId, authorId: 'bob' });
  t.same(evolve(state, { type: 'MessageDeleted', data: {} }), { status: 'deleted', groupChatId: chatId, authorId: 'bob' });
});

t.test('a command this version does not know is a defect, never a decision', async (t) => {
  t.throws(() => messageDecider.decide({ type: 'Pin', actorId: 'bob' } as never, messageDecider.initialState(), chatOf(chat)), {
    message: 'unknown command {"type":"Pin","actorId":"bob"}',
  });
});

t.test('events before the post describe no message', async (t) => {
  const stray: MessageEvent[] = [{ type: 'MessageEdited', data: { text: 'x' } }, { type: 'MessageDeleted', data: {} }];
  inChat(chat)(t).given(stray).when({ type: 'PostMessage', actorId: 'bob', groupChatId: chatId, text: 'hi' }).then([
    { type: 'MessagePosted', data: { groupChatId: chatId, authorId: 'bob', text: 'hi' } },
  ]);
});
