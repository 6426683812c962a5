import t from 'tap';
import { encodeConsistencyToken } from '../contracts/consistency-token.ts';
import { appServer } from '../testing/app-server.ts';
import { openTestDatabase } from '../testing/databases.ts';
import { closeTestDynamoDb, freshEventStore } from '../testing/stores.ts';

/**
 * docs/api.md, robustness: every token, cursor and If-Match this service hands out is hostile when
 * it comes back. A tampered one is 400 naming the header or parameter, never a 500, never a wait.
 */

t.teardown(closeTestDynamoDb);

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

t.test('tampered tokens, cursors and If-Match', async (t) => {
  const { store } = await freshEventStore();
  const api = await appServer(store, await openTestDatabase(t, null));
  const alice = api.as('alice');
  const chat = await alice.createChat('Tampered');
  const posted = await alice.post(chat.id, 'hello');
  const token = posted.body.token as string;
  const page = await api.send('alice', 'GET', `/query/v1/group-chats/${chat.id}/messages?limit=1`, undefined, { 'x-consistency-token': token });
  t.equal(page.status, 200);

  t.test('consistency tokens', async (t) => {
    const uuid = chat.id;
    const tampered = [
      '',
      ' ',
      'not base64 !',
      token.slice(0, -2),
      `${token}A`,
      token.toUpperCase(),
      'x'.repeat(201),
      b64(`GroupChat-${uuid}`),
      b64(`GroupChat-${uuid}@`),
      b64(`GroupChat-${uuid}@0`),
      b64(`GroupChat-${uuid}@-1`),
      b64(`GroupChat-${uuid}@01`),
      b64(`GroupChat-${uuid}@1.5`),
      b64(`GroupChat-${uuid}@1e3`),
      b64(`GroupChat-${uuid}@99999999999999999999`),
      b64(`GroupChat-${'-'.repeat(36)}@1`),
      b64(`GroupChat-${uuid.toUpperCase()}@1`),
      b64(`Idempotency-${uuid}@0`),
      b64(`Other-${uuid}@1`),
      b64(`GroupChat-${uuid}@1@2`),
      b64(`GroupChat-${uuid}\u0000@1`),
      b64(`../GroupChat-${uuid}@1`),
      encodeConsistencyToken({ streamId: `GroupChat-${uuid}x`, version: 1 }),
    ];
    for (const value of tampered) {
      const response = await api.send('alice', 'GET', `/query/v1/group-chats/${chat.id}`, undefined, { 'x-consistency-token': value });
      t.equal(response.status, 400, JSON.stringify(value).slice(0, 60));
      t.match(response.body, { message: /"x-consistency-token"/ });
    }
  });

  t.test('cursors', async (t) => {
    const json = (value: unknown) => b64(JSON.stringify(value));
    const id = chat.id;
    const tampered = [
      'x',
      '%00',
      '..%2F',
      'A'.repeat(201),
      json([]),
      json(null),
      json({ at: '2026-01-01T00:00:00.000Z', id }),
      json(['2026-01-01T00:00:00.000Z']),
      json(['2026-01-01T00:00:00.000Z', id, 'extra']),
      json([1767225600000, id]),
      json(['2026-01-01T00:00:00.000Z', 42]),
      json(['0000-01-01T00:00:00.000Z', id]),
      json(['-000001-01-01T00:00:00.000Z', id]),
      json(['+275760-09-13T00:00:00.000Z', id]),
      json(['2026-13-01T00:00:00.000Z', id]),
      json(['2026-01-01 00:00:00', id]),
      json(["2026-01-01T00:00:00.000Z'; drop table messages; --", id]),
      json(['2026-01-01T00:00:00.000Z', `${id}' or '1'='1`]),
    ];
    for (const url of [`/query/v1/group-chats/${chat.id}/messages`, '/query/v1/group-chats']) {
      for (const before of tampered) {
        const response = await api.send('alice', 'GET', `${url}?limit=5&before=${before}`);
        t.equal(response.status, 400, `${url} ${before.slice(0, 40)}`);
        t.match(response.body, { message: /"before"/ });
      }
    }
    t.equal((await api.send('alice', 'GET', `/query/v1/group-chats/${chat.id}/messages?limit=1000000000`)).status, 400, 'a limit of 10^9');
  });

  t.test('If-Match', async (t) => {
    for (const ifMatch of ['1', '"-1"', '"01"', '"1.0"', '"abc"', '*', 'W/"1"', '"1", "2"', `"${'9'.repeat(16)}"`, '""', '"\u0000"']) {
      const response = await alice.rename(chat.id, `Renamed ${ifMatch.length}`, { 'if-match': ifMatch });
      t.equal(response.status, 400, ifMatch);
      t.match(response.body, { message: /"if-match"/ });
    }
    t.equal((await alice.rename(chat.id, 'Stale', { 'if-match': '"99"' })).status, 412, 'a version the chat is not at');
    t.equal((await alice.createChat('Create', { 'if-match': '"1"' })).status, 400, 'If-Match on a create');
    t.equal((await alice.post(chat.id, 'Post', { 'if-match': '"1"' })).status, 400, 'If-Match on a post');
  });
});
