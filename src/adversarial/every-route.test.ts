import t from 'tap';
import { v7 as uuidv7 } from 'uuid';
import { groupChatStream } from '../contracts/streams.ts';
import { openTestDatabase } from '../testing/databases.ts';
import { describedOperations } from '../testing/described-operations.ts';
import { documentedServer } from '../testing/served-document.ts';
import { closeTestDynamoDb, freshEventStore } from '../testing/stores.ts';

/**
 * Every route the service describes, probed without naming one: the operations come from the
 * served description (`/openapi.json`), their bodies are made from its schemas, and each path
 * parameter gets the value its name calls for. A new route is probed here as soon as it is
 * served; a route whose path parameter has no probe value, or whose body cannot be made from its
 * schema, fails by name.
 *
 * - a non-member gets, for a chat it is not in and for a deleted chat, exactly the answer for a
 *   chat that does not exist (docs/api.md, order of checks);
 * - an id in any other spelling than the canonical one, or not a UUID at all, is 400 naming the
 *   parameter, on every route, before anything is read (docs/api.md, Ids);
 * - a user id named after what every JavaScript object has is an ordinary stranger (404);
 * - every command retried with its Idempotency-Key answers as the first time and appends nothing,
 *   and the key with another request is 422 (docs/api.md, Idempotency).
 */

t.teardown(closeTestDynamoDb);

/** Other spellings of one UUID, and things that are not UUIDs: never an id. */
const notIds = (id: string) => [
  id.toUpperCase(),
  `{${id}}`,
  `[${id}]`,
  `(${id})`,
  id.replaceAll('-', ''),
  id.replaceAll('-', ':'),
  `urn:uuid:${id}`,
  `${id} `,
  'not-a-uuid',
  '0',
];

t.test('every described route, probed by what its path and body are', async (t) => {
  const { store } = await freshEventStore();
  const { document, send } = await documentedServer(store, await openTestDatabase(t, null));

  // alice's chat with bob in it and a message; a chat alice deleted; eve, in neither.
  const created = await send('alice', 'POST', '/command/v1/group-chats', { name: 'Probed' });
  const chatId = created.body.groupChatId as string;
  await send('alice', 'POST', `/command/v1/group-chats/${chatId}/members`, { userId: 'bob', role: 'member' });
  const posted = await send('alice', 'POST', `/command/v1/group-chats/${chatId}/messages`, { text: 'hello' });
  const deleted = (await send('alice', 'POST', '/command/v1/group-chats', { name: 'Deleted' })).body.groupChatId as string;
  const gone = await send('alice', 'DELETE', `/command/v1/group-chats/${deleted}`);
  // Everything above is in the read model before anyone probes.
  for (const token of [posted.body.token, gone.body.token]) await send('alice', 'GET', '/query/v1/group-chats', undefined, { 'x-consistency-token': token as string });

  /** The value a path parameter gets, by its name, for a chat: its id, its message, its member. */
  const valueFor = (name: string, chat: string): string | undefined =>
    ({ id: chat, messageId: posted.body.messageId as string, userId: 'bob' })[name];
  const observable = (response: Awaited<ReturnType<typeof send>>) => {
    const { 'x-request-id': _id, date: _date, ...headers } = response.headers;
    return { status: response.status, payload: response.payload, headers };
  };

  const probed = describedOperations(document).filter(({ pathParameters }) => pathParameters.length > 0);
  t.ok(probed.length >= 10, `${probed.length} routes with path parameters`);

  for (const { path, method, operation, pathParameters: names, bodyFor } of probed) {
    t.test(`${method} ${path}`, async (t) => {
      for (const name of names) {
        if (valueFor(name, chatId) === undefined) return t.fail(`${method} ${path}: no probe value for {${name}}; add one to valueFor`);
      }
      const url = (chat: string, override: Record<string, string> = {}) =>
        path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(override[name] ?? valueFor(name, chat)!));
      const body = bodyFor({ id: chatId, messageId: posted.body.messageId as string });

      // A non-member: a foreign chat and a deleted one answer exactly as one that does not exist.
      const unknown = observable(await send('eve', method, url(uuidv7()), body));
      t.equal(unknown.status, 404, 'an unknown chat is 404 (the sample body is valid)');
      t.same(observable(await send('eve', method, url(chatId), body)), unknown, 'a chat eve is not in: the same answer');
      t.same(observable(await send('eve', method, url(deleted), body)), unknown, 'a deleted chat: the same answer');

      // Ids in any other spelling, from the chat's own admin: 400 naming the parameter.
      const uuidParams = (operation.parameters ?? []).flatMap((p) => ('name' in p && p.in === 'path' && p.schema?.format === 'uuid' ? [p.name] : []));
      t.ok(uuidParams.length > 0 || !names.some((name) => name === 'id' || name === 'messageId'), 'chat and message ids are described as UUIDs');
      for (const name of uuidParams) {
        for (const spelling of notIds(valueFor(name, chatId)!)) {
          const answer = await send('alice', method, url(chatId, { [name]: spelling }), body);
          t.equal(answer.status, 400, `{${name}} = ${JSON.stringify(spelling)}: 400`);
          t.match(answer.body.message, `"${name}"`, 'naming the parameter');
        }
      }

      // User ids named after what every object has: strangers, for the chat's admin too.
      if (names.includes('userId')) {
        for (const userId of ['__proto__', 'constructor', 'toString']) {
          t.equal((await send('alice', method, url(chatId, { userId }), body)).status, 404, `{userId} = ${userId}: a stranger`);
        }
      }
    });
  }
});

t.test('every described command, retried with its Idempotency-Key: the same answer and nothing appended; the key with another request is 422', async (t) => {
  const { store } = await freshEventStore();
  const { document, send } = await documentedServer(store, await openTestDatabase(t, null));
  const commands = describedOperations(document).filter(({ path, method }) => method !== 'GET' && path.startsWith('/command/v1/'));
  t.ok(commands.length >= 9, `${commands.length} command routes`);

  for (const [index, { path, method, bodyFor }] of commands.entries()) {
    t.test(`${method} ${path}`, async (t) => {
      // A chat of its own for each route (some end it), with bob in it and a message by alice.
      const prepare = async (): Promise<Record<string, string>> => {
        const id = (await send('alice', 'POST', '/command/v1/group-chats', { name: 'Keys' })).body.groupChatId as string;
        await send('alice', 'POST', `/command/v1/group-chats/${id}/members`, { userId: 'bob', role: 'member' });
        const messageId = (await send('alice', 'POST', `/command/v1/group-chats/${id}/messages`, { text: 'hello' })).body.messageId as string;
        return { id, messageId, userId: 'bob' };
      };
      const urlFor = (values: Record<string, string>) => path.replace(/\{(\w+)\}/g, (_, name: string) => values[name] ?? `{no probe value for ${name}}`);
      const values = await prepare();
      const chatId = values.id!;
      const url = urlFor(values);
      t.notMatch(url, /no probe value/, 'every path parameter has a probe value');
      const body = bodyFor(values);
      const key = { 'idempotency-key': `every-route-${index}` };

      const first = await send('alice', method, url, body, key);
      t.ok(first.status >= 200 && first.status < 300, `done: ${first.status} ${first.payload}`);
      const before = await store.readStream(groupChatStream(chatId));
      const again = await send('alice', method, url, body, key);
      t.same({ status: again.status, body: again.body }, { status: first.status, body: first.body }, 'the retry answers as the first time');
      t.same((await store.readStream(groupChatStream(chatId))).map((commit) => commit.version), before.map((commit) => commit.version), 'and appends nothing');
      // The key with another request that would succeed: the same on another chat prepared alike
      // (or, for a create, another body).
      const other = path.includes('{id}') ? await send('alice', method, urlFor(await prepare()), body, key) : await send('alice', method, url, { ...body, name: 'another name' }, key);
      t.equal(other.status, 422, 'the key with another request is 422');
    });
  }
});
