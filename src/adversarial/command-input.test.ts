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

t.test('names and texts made only of invisible characters are 400; another normal form of the same name is no change', async (t) => {
  const { store } = await freshEventStore();
  const alice = (await commandServer(store)).as('alice');
  const invisible = ['\u200B', '\u200B\u200B\u200C', '\u00AD', '\u3164', '\u2800', '\u202E', '\u2060\uFEFF', ' \u200B ', '\u115F\u1160', '\u180E'];
  for (const value of invisible) {
    const label = JSON.stringify(value);
    t.match(await alice.createChat(value), { status: 400, body: { message: /"name" must contain a visible character/ } }, `name ${label}`);
  }
  const chat = await alice.createChat('Caf\u00E9');
  t.equal(chat.status, 201);
  for (const value of invisible) {
    t.match(await alice.post(chat.id, value), { status: 400, body: { message: /"text" must contain a visible character/ } }, `text ${JSON.stringify(value)}`);
  }
  t.equal((await alice.post(chat.id, 'a\u200Bb')).status, 201, 'an invisible character among visible ones is text like any other');
  t.equal((await alice.createChat('\u3164x')).status, 201, 'and so in a name');
  // "Café" with a combining accent (NFD) is the name the chat has (NFC): no change.
  t.equal((await alice.rename(chat.id, 'Cafe\u0301')).status, 409, 'the same name in another normal form');
  t.equal((await alice.rename(chat.id, 'Cafe')).status, 200, 'another name');
});
