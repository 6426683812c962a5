import type { Test } from 'tap';
import { v7 as uuidv7 } from 'uuid';
import { encodeConsistencyToken } from '../contracts/consistency-token.ts';
import { groupChatStream, messageStream } from '../contracts/streams.ts';
import { openTestDatabase } from './databases.ts';
import { encodePageCursor } from '../modules/query/page-cursor.ts';
import { describedOperations, fillPath, parametersNaming, pathValues, sample, unknownParameters } from './described-operations.ts';
import type { DescribedOperation, Situation } from './described-operations.ts';
import { documentedServer } from './served-document.ts';
import { freshEventStore } from './stores.ts';

/**
 * The adversarial probes every route gets without naming one (docs/api.md: order of checks, ids,
 * identity, idempotency, read-your-writes). The routes come from the served description
 * (`/openapi.json`), their bodies from its schemas, and each path parameter gets the value its
 * name calls for; each module's `*.probes.test.ts` runs them on its own routes, so a new route is
 * probed as soon as it is served, and a route whose path parameter has no probe value, or whose
 * body cannot be made, fails by name.
 *
 * - **Leaks**: a non-member gets, for a chat it is not in and for a deleted chat, exactly the
 *   answer for a chat that does not exist (status, body, headers but the request id), with any
 *   If-Match; a message id through a chat it is not in answers as an unknown message; a query
 *   with a token of a stream the caller cannot see answers as one with no token.
 * - **Ids**: an id in any other spelling than the canonical one, or not a UUID at all, is 400
 *   naming the parameter, before anything is read.
 * - **Hostile user ids**: a caller or a member named after what every JavaScript object has is an
 *   ordinary stranger (404).
 * - **Keys**: a command retried with its Idempotency-Key answers as the first time and appends
 *   nothing; the key with another request is 422.
 */

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

/** User ids named after what every JavaScript object has. */
const hostileUserIds = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'then'];

const ifMatches = [undefined, '"1"', '"4"', '"999"'];

/** Runs every probe on the described routes under `prefix` (`/command/v1/` or `/query/v1/`). */
export async function probeRoutes(t: Test, prefix: string): Promise<void> {
  const { store } = await freshEventStore();
  const { document, send } = await documentedServer(store, await openTestDatabase(t, null));
  type Answer = Awaited<ReturnType<typeof send>>;
  const observable = (answer: Answer) => {
    const { 'x-request-id': _id, date: _date, ...headers } = answer.headers;
    return { status: answer.status, payload: answer.payload, headers };
  };

  // alice's chat with bob in it and a message; a chat alice deleted; eve's own chat, alice in neither of eve's.
  const created = await send('alice', 'POST', '/command/v1/group-chats', { name: 'Probed' });
  const chatId = created.body.groupChatId as string;
  await send('alice', 'POST', `/command/v1/group-chats/${chatId}/members`, { userId: 'bob', role: 'member' });
  const posted = await send('alice', 'POST', `/command/v1/group-chats/${chatId}/messages`, { text: 'hello' });
  const messageId = posted.body.messageId as string;
  const deleted = (await send('alice', 'POST', '/command/v1/group-chats', { name: 'Deleted' })).body.groupChatId as string;
  const gone = await send('alice', 'DELETE', `/command/v1/group-chats/${deleted}`);
  const evesOwn = await send('eve', 'POST', '/command/v1/group-chats', { name: "Eve's" });
  const evesChat = evesOwn.body.groupChatId as string;
  const alicesOther = (await send('alice', 'POST', '/command/v1/group-chats', { name: 'Other' })).body.groupChatId as string;
  // Everything above is in the read model before anyone probes.
  for (const token of [posted.body.token, gone.body.token]) await send('alice', 'GET', '/query/v1/group-chats', undefined, { 'x-consistency-token': token as string });
  await send('eve', 'GET', '/query/v1/group-chats', undefined, { 'x-consistency-token': evesOwn.body.token as string });

  /** The value each path parameter gets, for a chat: its id, alice's message, bob. */
  const valuesFor = (chat: string, message = messageId): Record<string, string> => pathValues({ chat, message, member: 'bob' });
  /** A query's parameters by name: a page cursor this service issued for `before`, else a sample of the schema. */
  const queryFor = (route: DescribedOperation): string => {
    const parameters = Object.entries(route.queryParameters).map(([name, schema]): [string, string] => [
      name,
      name === 'before' ? encodePageCursor({ at: new Date(), id: uuidv7() }) : String(sample(schema, document, `${route.method} ${route.path} ?${name}`)),
    ]);
    return parameters.length > 0 ? `?${new URLSearchParams(parameters).toString()}` : '';
  };
  const routes = describedOperations(document).filter(({ path }) => path.startsWith(prefix));
  t.ok(routes.length >= 3, `${routes.length} described routes under ${prefix}`);

  for (const route of routes) {
    const { path, method } = route;
    t.test(`${method} ${path}`, async (t) => {
      const missing = unknownParameters(path);
      if (missing.length > 0) return t.fail(`${method} ${path}: {${missing.join('}, {')}} names nothing a probe prepares; give it a thing in parameterThings (src/testing/described-operations.ts)`);
      // With its query parameters (a page after a cursor) as well as without, where it takes any.
      const queries = [...new Set(['', queryFor(route)])];
      const url = (values: Record<string, string>, query = '') => fillPath(path, values) + query;
      const body = route.bodyFor({ id: chatId, messageId });
      // If-Match where the route takes one (it documents 412).
      const takesIfMatch = route.statuses.includes(412);
      const versions = takesIfMatch ? ifMatches : [undefined];
      const headers = (ifMatch: string | undefined): Record<string, string> => (ifMatch ? { 'if-match': ifMatch } : {});

      const chatParameters = parametersNaming(path, 'chat');
      const messageParameters = parametersNaming(path, 'message');
      const memberParameters = parametersNaming(path, 'member');
      /** `values` with every parameter naming a member set to `userId`. */
      const naming = (values: Record<string, string>, userId: string) => ({ ...values, ...Object.fromEntries(memberParameters.map((name) => [name, userId])) });

      if (chatParameters.length > 0) {
        t.test('a non-member: a foreign chat and a deleted one answer exactly as one that does not exist', async (t) => {
          for (const caller of ['eve', ...hostileUserIds]) {
            for (const query of queries) {
              for (const ifMatch of versions) {
                const label = `${caller}${ifMatch ? `, If-Match ${ifMatch}` : ''}${query}`;
                const unknown = observable(await send(caller, method, url(valuesFor(uuidv7(), uuidv7()), query), body, headers(ifMatch)));
                t.equal(unknown.status, 404, `${label}: an unknown chat is 404 (the sample body is valid)`);
                t.same(observable(await send(caller, method, url(valuesFor(chatId), query), body, headers(ifMatch))), unknown, `${label}: a chat it is not in`);
                t.same(observable(await send(caller, method, url(valuesFor(deleted), query), body, headers(ifMatch))), unknown, `${label}: a deleted chat`);
                if (memberParameters.length > 0) {
                  const itself = observable(await send(caller, method, url(naming(valuesFor(uuidv7()), caller), query), body, headers(ifMatch)));
                  t.same(observable(await send(caller, method, url(naming(valuesFor(chatId), caller), query), body, headers(ifMatch))), itself, `${label}: naming itself, in a chat it is not in`);
                }
              }
            }
          }
        });
      }

      if (messageParameters.length > 0) {
        t.test("a message id through a chat it is not in answers as an unknown message", async (t) => {
          for (const ifMatch of versions) {
            const unknown = observable(await send('eve', method, url(naming(valuesFor(evesChat, uuidv7()), 'eve')), body, headers(ifMatch)));
            t.equal(unknown.status, 404, `If-Match ${ifMatch ?? 'none'}: an unknown message in eve's chat is 404`);
            t.same(observable(await send('eve', method, url(naming(valuesFor(evesChat), 'eve')), body, headers(ifMatch))), unknown, `If-Match ${ifMatch ?? 'none'}: alice's message through eve's chat`);
            // Its author too, through another chat of hers.
            t.same(
              observable(await send('alice', method, url(naming(valuesFor(alicesOther), 'alice')), body, headers(ifMatch))),
              observable(await send('alice', method, url(naming(valuesFor(alicesOther, uuidv7()), 'alice')), body, headers(ifMatch))),
              `If-Match ${ifMatch ?? 'none'}: alice's own message through another chat of hers`,
            );
          }
        });
      }

      // Every parameter whose value is a UUID (a chat's or a message's id) is described, and checked, as one.
      const uuidParams = (route.operation.parameters ?? []).flatMap((p) => ('name' in p && p.in === 'path' && p.schema?.format === 'uuid' ? [p.name] : []));
      const idParameters = [...chatParameters, ...messageParameters];
      for (const name of idParameters) t.ok(uuidParams.includes(name), `{${name}} is described as a UUID`);
      for (const name of idParameters) {
        t.test(`{${name}} in any other spelling: 400 naming it, for the chat's own admin`, async (t) => {
          for (const spelling of notIds(valuesFor(chatId)[name]!)) {
            const answer = await send('alice', method, url({ ...valuesFor(chatId), [name]: spelling }), body);
            t.equal(answer.status, 400, `${JSON.stringify(spelling)}: 400`);
            t.match(answer.body.message, `"${name}"`, 'naming the parameter');
          }
        });
      }

      if (memberParameters.length > 0) {
        t.test('a member named after what every object has: a stranger, for the chat\'s admin too', async (t) => {
          for (const userId of hostileUserIds) t.equal((await send('alice', method, url(naming(valuesFor(chatId), userId)), body)).status, 404, userId);
        });
      }

      if (method === 'GET') {
        t.test('a token of a stream the caller cannot see answers as an unknown one, and as none', async (t) => {
          const own = url(valuesFor(evesChat));
          const tokens = (chat: string, message: string) =>
            [1, 4, 999].flatMap((version) => [
              encodeConsistencyToken({ streamId: groupChatStream(chat), version }),
              encodeConsistencyToken({ streamId: messageStream(message), version }),
            ]);
          const plain = observable(await send('eve', method, own));
          const unknownTokens = tokens(uuidv7(), uuidv7());
          for (const [index, token] of [...tokens(chatId, messageId), ...tokens(deleted, messageId)].entries()) {
            const foreign = observable(await send('eve', method, own, undefined, { 'x-consistency-token': token }));
            t.same(foreign, observable(await send('eve', method, own, undefined, { 'x-consistency-token': unknownTokens[index % unknownTokens.length]! })), `token ${index}: as an unknown stream's`);
            t.same(foreign, plain, `token ${index}: as no token`);
          }
        });
      } else {
        t.test('retried with its Idempotency-Key: the same answer, nothing appended; the key with another request is 422', async (t) => {
          await probeKeys(t, route, send, store);
        });
      }
    });
  }
}

type Send = Awaited<ReturnType<typeof documentedServer>>['send'];

/** A command made twice with one key, then the key with another request (on a chat of its own). */
async function probeKeys(t: Test, route: DescribedOperation, send: Send, store: Awaited<ReturnType<typeof freshEventStore>>['store']): Promise<void> {
  const { path, method } = route;
  // A chat of its own (some commands end it), with bob in it and a message by alice.
  const prepare = async (): Promise<Situation> => {
    const chat = (await send('alice', 'POST', '/command/v1/group-chats', { name: 'Keys' })).body.groupChatId as string;
    await send('alice', 'POST', `/command/v1/group-chats/${chat}/members`, { userId: 'bob', role: 'member' });
    const message = (await send('alice', 'POST', `/command/v1/group-chats/${chat}/messages`, { text: 'hello' })).body.messageId as string;
    return { chat, message, member: 'bob' };
  };
  const situation = await prepare();
  const values = pathValues(situation);
  const url = fillPath(path, values);
  const body = route.bodyFor(values);
  const key = { 'idempotency-key': `probe-${method}-${path}`.slice(0, 128).replaceAll(' ', '-') };

  const first = await send('alice', method, url, body, key);
  t.ok(first.status >= 200 && first.status < 300, `done: ${first.status} ${first.payload}`);
  // Every stream the command could have written: the chat (or the one it created), the message, one it created.
  const chat = (first.body.groupChatId as string | undefined) ?? situation.chat;
  const streams = [groupChatStream(chat), messageStream(situation.message), ...(first.body.messageId ? [messageStream(first.body.messageId as string)] : [])];
  const versions = async () => Promise.all(streams.map(async (stream) => (await store.readStream(stream)).map((commit) => commit.version)));
  const before = await versions();
  const again = await send('alice', method, url, body, key);
  t.same({ status: again.status, body: again.body }, { status: first.status, body: first.body }, 'the retry answers as the first time');
  t.same(await versions(), before, 'and appends nothing, to any stream');
  // The key with another request that would succeed: the same on another chat prepared alike
  // (or, for a create, another body).
  const other = route.pathParameters.length > 0 ? await send('alice', method, fillPath(path, pathValues(await prepare())), body, key) : await send('alice', method, url, { ...body, name: 'another name' }, key);
  t.equal(other.status, 422, 'the key with another request is 422');
}
