import t from 'tap';
import { commandServer } from '../testing/command-server.ts';
import { closeTestDynamoDb, freshEventStore } from '../testing/stores.ts';

/**
 * Input the stores cannot keep as sent is refused at the edge: a lone surrogate (UTF-16 half of a
 * pair) would be stored as is in the event log but as U+FFFD in Postgres, so log and projection
 * would disagree for good. And a `..` path segment is refused, never resolved into another route.
 */

t.teardown(closeTestDynamoDb);

t.test('a name or text with a lone surrogate is refused with 400 (not stored ill-formed)', async (t) => {
  const { store } = await freshEventStore();
  const alice = (await commandServer(store)).as('alice');
  for (const name of ['\uD800', 'a\uDC00b']) t.equal((await alice.createChat(name)).status, 400, `name ${JSON.stringify(name)}`);
  const { id } = await alice.createChat('Ok');
  t.equal((await alice.post(id, 'x\uD800')).status, 400, 'text with a lone high surrogate');
});

t.test('a userId path segment `..` is refused, never resolved into another route', async (t) => {
  const { store } = await freshEventStore();
  const api = await commandServer(store);
  const alice = api.as('alice');
  const { id } = await alice.createChat('Kept');
  const removed = await alice.removeMember(id, '..');
  t.not(removed.status, 200, 'DELETE /group-chats/{id}/members/..');
  t.equal((await alice.rename(id, 'Still here')).status, 200, 'the chat was not deleted');
  const encoded = await api.send('alice', 'DELETE', `/command/v1/group-chats/${id}/members/%2e%2e`);
  t.not(encoded.status, 200, 'the percent-encoded form too');
});
