import t from 'tap';
import { appServer } from '../testing/app-server.ts';
import { openTestDatabase } from '../testing/databases.ts';
import { closeTestDynamoDb, freshEventStore } from '../testing/stores.ts';

/**
 * docs/api.md, identity: a user id is data, never an object key. Users named after what every
 * JavaScript object has (`constructor`, `__proto__`, `toString`, …) are ordinary users: members
 * where they were added, strangers everywhere else. Every route is probed with such callers and
 * members by the route probes (src/testing/route-probes.ts); here, the life of one as a member.
 */

t.teardown(closeTestDynamoDb);

const hostile = ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString', '__defineGetter__', 'prototype', 'length', 'then'];

t.test('hostile user ids through every command and query', async (t) => {
  const { store } = await freshEventStore();
  const api = await appServer(store, await openTestDatabase(t, null));
  const alice = api.as('alice');
  const { id: chatId, body: created } = await alice.createChat('Alice only');
  await alice.post(chatId, 'private');
  const get = (user: string, url: string, token?: unknown) =>
    api.send(user, 'GET', url, undefined, token ? { 'x-consistency-token': token as string } : {});
  // Every write by alice is visible before the strangers probe.
  await get('alice', `/query/v1/group-chats/${chatId}`, created.token);

  for (const userId of hostile) {
    t.test(`${userId} is a stranger to a chat it was not added to`, async (t) => {
      // Every route answers it as a stranger (the route probes, src/testing/route-probes.ts); here, its own list.
      t.same((await get(userId, '/query/v1/group-chats')).body, { items: [], nextCursor: null });
      t.equal((await alice.changeRole(chatId, userId, 'admin')).status, 404, 'an admin cannot give a non-member a role');
      t.equal((await api.as(userId).deleteChat(chatId)).status, 404, 'so no hidden admin appears');
    });

    t.test(`${userId} is an ordinary member once added`, async (t) => {
      const user = api.as(userId);
      const { id } = await alice.createChat(`With ${userId}`);
      t.equal((await alice.addMember(id, userId)).status, 200, 'can be added');
      t.equal((await alice.addMember(id, userId)).status, 409, 'once');
      const posted = await user.post(id, `hello from ${userId}`);
      t.equal(posted.status, 201);
      t.equal((await user.rename(id, 'mine')).status, 403, 'a plain member lacks the right');
      t.equal((await alice.changeRole(id, userId, 'admin')).status, 200);
      const renamed = await user.rename(id, `renamed by ${userId}`);
      t.equal(renamed.status, 200, 'an admin now');
      const chat = await get(userId, `/query/v1/group-chats/${id}`, renamed.body.token);
      t.equal(chat.status, 200);
      t.match(chat.body, { members: [{ userId: 'alice', role: 'admin' }, { userId, role: 'admin' }] });
      const messages = await get(userId, `/query/v1/group-chats/${id}/messages`, posted.body.token);
      t.match(messages.body, { items: [{ messageId: posted.id, authorId: userId }] });
      t.match((await get(userId, '/query/v1/group-chats')).body, { items: [{ groupChatId: id, role: 'admin', memberCount: 2 }] });
      t.equal((await user.removeMember(id, userId)).status, 200, 'can leave');
      t.equal((await user.post(id, 'still here?')).status, 404, 'and is a stranger again');
      const own = await user.createChat(`${userId}'s own`);
      t.equal(own.status, 201, 'can create a chat of its own');
      t.equal((await user.deleteChat(own.id)).status, 200, 'and delete it');
    });
  }
});
