import t from 'tap';
import type { Test } from 'tap';
import { v7 as uuidv7 } from 'uuid';
import { encodeConsistencyToken } from '../contracts/consistency-token.ts';
import { groupChatStream, messageStream } from '../contracts/streams.ts';
import { encodePageCursor } from '../modules/query/page-cursor.ts';
import { appServer } from '../testing/app-server.ts';
import { openTestDatabase } from '../testing/databases.ts';
import { closeTestDynamoDb, freshEventStore } from '../testing/stores.ts';

/**
 * docs/api.md, order of checks and read-your-writes: a chat never admits it exists to someone who
 * is not in it. Whatever a non-member sends about a chat (any command, any If-Match, a message id
 * through another chat's URL, a query, a consistency token), the answer is the one for a chat that
 * does not exist: same status, same body, same headers but the request id. Compared answer by
 * answer, never by timing.
 */

t.teardown(closeTestDynamoDb);

type Response = Awaited<ReturnType<Awaited<ReturnType<typeof appServer>>['send']>>;

/** What a client can observe of an answer, but the request id (which differs by design). */
const observable = (response: Response) => {
  const { 'x-request-id': id, date: _date, ...headers } = response.headers;
  return { status: response.status, payload: response.payload, headers, hasRequestId: typeof id === 'string' };
};

t.test('a non-member cannot tell a foreign chat from an unknown one', async (t) => {
  const { store } = await freshEventStore();
  const api = await appServer(store, await openTestDatabase(t, null));
  const alice = api.as('alice');
  const eve = api.as('eve');
  const foreign = await alice.createChat('Secret plans');
  await alice.addMember(foreign.id, 'bob');
  await alice.rename(foreign.id, 'More secret plans');
  const message = await alice.post(foreign.id, 'the plan');
  await alice.edit(foreign.id, message.id, 'the real plan');
  const deleted = await alice.createChat('Deleted');
  const gone = await alice.deleteChat(deleted.id);
  const own = await eve.createChat("Eve's");
  const unknownChat = uuidv7();
  const unknownMessage = uuidv7();
  // The projection holds everything above before anyone probes.
  for (const token of [message.body.token, gone.body.token, own.body.token]) {
    await api.send('alice', 'GET', '/query/v1/group-chats', undefined, { 'x-consistency-token': token as string });
  }
  await api.send('eve', 'GET', '/query/v1/group-chats', undefined, { 'x-consistency-token': own.body.token as string });

  const same = async (t: Test, name: string, probe: (chatId: string, messageId: string) => Promise<Response>, targets = [foreign.id, deleted.id]) => {
    const unknown = observable(await probe(unknownChat, unknownMessage));
    t.equal(unknown.hasRequestId, true, `${name}: carries a request id`);
    for (const chatId of targets) {
      t.same(observable(await probe(chatId, message.id)), unknown, `${name} (${chatId === foreign.id ? 'foreign' : 'deleted'} chat)`);
    }
    return unknown;
  };

  t.test('commands, with and without If-Match', async (t) => {
    for (const ifMatch of [undefined, '"0"', '"1"', '"4"', '"5"', '"999"']) {
      const headers = ifMatch ? { 'if-match': ifMatch } : undefined;
      const label = ifMatch ? `If-Match ${ifMatch}` : 'no If-Match';
      const answer = await same(t, `rename, ${label}`, (id) => eve.rename(id, 'mine', headers));
      t.equal(answer.status, 404, 'never 412, never a version');
      t.notMatch(answer.payload, /version/);
      await same(t, `add member, ${label}`, (id) => eve.addMember(id, 'eve', 'admin', headers));
      await same(t, `change role, ${label}`, (id) => eve.changeRole(id, 'alice', 'member', headers));
      await same(t, `remove member, ${label}`, (id) => eve.removeMember(id, 'alice', headers));
      await same(t, `remove self, ${label}`, (id) => eve.removeMember(id, 'eve', headers));
      await same(t, `delete chat, ${label}`, (id) => eve.deleteChat(id, headers));
      await same(t, `edit message, ${label}`, (id, messageId) => eve.edit(id, messageId, 'defaced', headers));
      await same(t, `delete message, ${label}`, (id, messageId) => eve.deleteMessage(id, messageId, headers));
    }
    await same(t, 'post message', (id) => eve.post(id, 'hello?'));
  });

  t.test("a message id through another chat's URL", async (t) => {
    // Eve is a member of her own chat; alice's message is not in it.
    for (const ifMatch of [undefined, '"1"', '"2"', '"999"']) {
      const headers = ifMatch ? { 'if-match': ifMatch } : undefined;
      const foreignMessage = observable(await eve.edit(own.id, message.id, 'defaced', headers));
      const unknown = observable(await eve.edit(own.id, unknownMessage, 'defaced', headers));
      t.same(foreignMessage, unknown, `edit, ${ifMatch ?? 'no If-Match'}`);
      t.equal(foreignMessage.status, 404);
      t.same(observable(await eve.deleteMessage(own.id, message.id, headers)), observable(await eve.deleteMessage(own.id, unknownMessage, headers)));
    }
    // Alice herself, through eve-less chats: her message seen through a chat it is not in.
    const aliceOther = await alice.createChat('Other');
    t.same(observable(await alice.edit(aliceOther.id, message.id, 'x', { 'if-match': '"999"' })), observable(await alice.edit(aliceOther.id, unknownMessage, 'x', { 'if-match': '"999"' })));
  });

  t.test('queries', async (t) => {
    const cursor = encodePageCursor({ at: new Date(), id: message.id });
    await same(t, 'one chat', (id) => api.send('eve', 'GET', `/query/v1/group-chats/${id}`));
    await same(t, 'messages', (id) => api.send('eve', 'GET', `/query/v1/group-chats/${id}/messages`));
    await same(t, 'messages, paged', (id) => api.send('eve', 'GET', `/query/v1/group-chats/${id}/messages?limit=1&before=${cursor}`));
  });

  t.test('consistency tokens', async (t) => {
    const urls = ['/query/v1/group-chats', `/query/v1/group-chats/${own.id}`, `/query/v1/group-chats/${own.id}/messages`];
    const tokens = (chatId: string, messageId: string) =>
      [1, 4, 999].flatMap((version) => [
        encodeConsistencyToken({ streamId: groupChatStream(chatId), version }),
        encodeConsistencyToken({ streamId: messageStream(messageId), version: Math.min(version, 2) }),
        encodeConsistencyToken({ streamId: messageStream(messageId), version }),
      ]);
    for (const url of urls) {
      const plain = observable(await api.send('eve', 'GET', url));
      const foreignTokens = tokens(foreign.id, message.id);
      const unknownTokens = tokens(unknownChat, unknownMessage);
      for (const [index, token] of foreignTokens.entries()) {
        const withForeign = observable(await api.send('eve', 'GET', url, undefined, { 'x-consistency-token': token }));
        const withUnknown = observable(await api.send('eve', 'GET', url, undefined, { 'x-consistency-token': unknownTokens[index]! }));
        t.same(withForeign, withUnknown, `${url}: a foreign token answers as an unknown one (${index})`);
        t.same(withForeign, plain, `${url}: and as no token at all (${index})`);
      }
    }
    const deletedToken = encodeConsistencyToken({ streamId: groupChatStream(deleted.id), version: 2 });
    t.same(
      observable(await api.send('eve', 'GET', urls[0]!, undefined, { 'x-consistency-token': deletedToken })),
      observable(await api.send('eve', 'GET', urls[0]!)),
      "a deleted chat's token too",
    );
    const honoured = await api.send('alice', 'GET', `/query/v1/group-chats/${foreign.id}`, undefined, { 'x-consistency-token': message.body.token as string });
    t.equal(honoured.status, 200, "a member's own token is still honoured");
  });
});
