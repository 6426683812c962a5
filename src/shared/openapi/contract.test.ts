import type { Server } from '@hapi/hapi';
import t from 'tap';
import { encodeConsistencyToken } from '../../contracts/consistency-token.ts';
import { groupChatStream } from '../../contracts/streams.ts';
import { EventStoreUnavailableError } from '../../eventstore/index.ts';
import type { EventStore } from '../../eventstore/index.ts';
import { openTestDatabase, refusedDatabase } from '../../testing/databases.ts';
import { v7 as uuidv7 } from 'uuid';
import { describedOperations, fillPath, pathValues, unknownParameters } from '../../testing/described-operations.ts';
import { checkedClient, contractOf } from '../../testing/openapi-contract.ts';
import type { Exchange, SendOptions } from '../../testing/openapi-contract.ts';
import { documentedServer } from '../../testing/served-document.ts';
import type { OpenApiDocument } from '../../testing/served-document.ts';
import { closeTestDynamoDb, freshEventStore, wrapStore } from '../../testing/stores.ts';

/**
 * The contract test: every route the description lists is made to give every answer it
 * documents, each answer held to the served description by a validator library (the status is
 * declared, the body matches its schema, every declared header is there). The requests are made
 * from the description (src/testing/described-operations.ts), so a new route is covered as soon
 * as it is served, its own refusals (403, 409) included: one prepared chat makes them for every
 * route, and a route whose refusal it cannot make fails by name. An undocumented status fails here, and so does a documented one that
 * nothing can produce.
 */

t.teardown(closeTestDynamoDb);

let document: OpenApiDocument;
let server: Server;
let store: EventStore;
// One validator for the file: compiling the description's schemas is most of what it costs.
let contract: Awaited<ReturnType<typeof contractOf>>;
t.before(async () => {
  store = (await freshEventStore()).store;
  ({ server, document } = await documentedServer(store, await openTestDatabase(t, null), { consistencyTimeoutMs: 100 }));
  contract = await contractOf(document);
});

t.test('every documented answer, and nothing else', async (t) => {
  const report = (problems: string[], exchange: Exchange) => t.same(problems, [], `${exchange.method} ${exchange.url} → ${exchange.status} is as documented`);
  const send = checkedClient(server, contract, report);

  // The same routes over stores that are down: 503 everywhere.
  const unavailable = async () => {
    throw new EventStoreUnavailableError('the event log is down');
  };
  const downStore = wrapStore(store, { readStream: unavailable, append: unavailable, claimKey: unavailable, ping: unavailable });
  const down = checkedClient((await documentedServer(downStore, await refusedDatabase(t))).server, contract, report);

  const expect = async (status: number, method: string, url: string, options: SendOptions = {}, via = send) => {
    const answer = await via(method, url, options);
    t.equal(answer.status, status, `${method} ${url} answers ${status}`);
    return answer;
  };
  const tooBig = { name: 'x'.repeat(17 * 1024), text: 'x'.repeat(17 * 1024) };
  const xml = { payload: '<name>x</name>', headers: { 'content-type': 'application/xml' } };
  const stale = { 'if-match': '"99"' };
  const unknown = pathValues({ chat: uuidv7(), message: uuidv7(), member: 'bob' });
  const chats = '/command/v1/group-chats';

  /**
   * A chat of its own for each route: alice its owner (the only admin), bob and erin plain members,
   * a message by alice and one by bob. The route's path names the chat, alice's message and erin.
   */
  const prepare = async () => {
    const created = await expect(201, 'POST', chats, { user: 'alice', payload: { name: 'Contract' } });
    const id = created.body.groupChatId as string;
    for (const userId of ['bob', 'erin']) await expect(200, 'POST', `${chats}/${id}/members`, { user: 'alice', payload: { userId, role: 'member' } });
    const messageId = (await expect(201, 'POST', `${chats}/${id}/messages`, { user: 'alice', payload: { text: 'hello' } })).body.messageId as string;
    const own = await expect(201, 'POST', `${chats}/${id}/messages`, { user: 'bob', payload: { text: 'mine' } });
    return { values: pathValues({ chat: id, message: messageId, member: 'erin' }), token: own.body.token as string };
  };
  const gone = await prepare();
  await expect(200, 'DELETE', `${chats}/${gone.values.id}`, { user: 'alice' });
  // A key alice already used: any other request with it is 422.
  await expect(201, 'POST', chats, { user: 'alice', payload: { name: 'Keyed' }, headers: { 'idempotency-key': 'used-once' } });
  const reused = { 'idempotency-key': 'used-once' };

  /**
   * The refusals of a command's own rules come from the prepared chat, the same way for every
   * route: a 403 is the request made by bob, a member with no say over the chat, alice's message
   * or erin; a 409 is the successful request made again (the same change twice is a conflict).
   * A route whose 409 is something else names it here; the test names a route whose 409 it
   * cannot make.
   */
  type Scenario = (chat: Awaited<ReturnType<typeof prepare>>) => SendOptions & { readonly url?: string };
  const otherConflicts: Record<string, Scenario> = {
    // Removing erin twice is 404 (not a member); the conflict is removing the last admin.
    'DELETE /command/v1/group-chats/{id}/members/{userId}': (chat) => ({ url: fillPath('/command/v1/group-chats/{id}/members/{userId}', { ...chat.values, userId: 'alice' }) }),
  };

  const operations = describedOperations(document);
  t.ok(operations.length >= 12, `${operations.length} described routes`);
  for (const { path, method, statuses, bodyFor, bodiesFor } of operations.filter((o) => o.method !== 'GET')) {
    const name = `${method} ${path}`;
    t.comment(name);
    const unnamed = unknownParameters(path);
    if (unnamed.length > 0) {
      t.fail(`${name}: {${unnamed.join('}, {')}} names nothing the prepared chat has; give it a thing in parameterThings (src/testing/described-operations.ts)`);
      continue;
    }
    const chat = await prepare();
    const url = fillPath(path, chat.values);
    const sampleBody = bodyFor(chat.values);
    const body = sampleBody === undefined ? {} : { payload: sampleBody };
    const documents = (status: number) => statuses.includes(status);
    await expect(400, method, url, { user: 'alice', payload: { ...sampleBody, unexpected: true } });
    await expect(401, method, url, body);
    await expect(413, method, url, { user: 'alice', payload: tooBig });
    await expect(415, method, url, { user: 'alice', ...xml });
    await expect(422, method, url, { user: 'alice', ...body, headers: reused });
    await expect(503, method, url, { user: 'alice', ...body }, down);
    if (documents(404)) await expect(404, method, fillPath(path, unknown), { user: 'carol', ...body });
    if (documents(410)) await expect(410, method, fillPath(path, gone.values), { user: 'alice', ...body });
    if (documents(412)) await expect(412, method, url, { user: 'alice', ...body, headers: stale });
    // Refused whatever the body says (a plain member adds neither an admin nor a member). A route
    // that does not document 403 is tried by bob too, on a chat of its own: whatever it answers
    // must be documented, so a refusal left out of the route's `refusals` fails here.
    if (documents(403)) {
      for (const payload of sampleBody ? bodiesFor(chat.values) : [undefined]) await expect(403, method, url, { user: 'bob', ...(payload ? { payload } : {}) });
    } else {
      const own = await prepare();
      const payload = bodyFor(own.values);
      await send(method, fillPath(path, own.values), { user: 'bob', ...(payload ? { payload } : {}) });
    }
    const conflict = otherConflicts[name];
    if (documents(409) && conflict) {
      const { url: other, ...options } = conflict(chat);
      await expect(409, method, other ?? url, { user: 'alice', ...body, ...options });
    }
    // The success, on the state the refusals left alone; then, again, its conflict.
    const success = statuses.find((status) => status >= 200 && status < 300)!;
    await expect(success, method, url, { user: 'alice', ...body });
    // Made again: a 409 where the route documents it (else its conflict is in `otherConflicts`);
    // anything it answers must be documented, so a 409 left out of `refusals` fails here.
    const again = await send(method, url, { user: 'alice', ...body });
    if (documents(409) && !conflict && again.status !== 409) t.fail(`${name} documents 409, and doing it twice answers ${again.status}: name its conflict in \`otherConflicts\``);
  }

  for (const { path, method, statuses } of operations.filter((o) => o.method === 'GET')) {
    t.comment(`${method} ${path}`);
    if (unknownParameters(path).length > 0) {
      t.fail(`${method} ${path}: {${unknownParameters(path).join('}, {')}} names nothing the prepared chat has; give it a thing in parameterThings (src/testing/described-operations.ts)`);
      continue;
    }
    const chat = await prepare();
    const url = fillPath(path, chat.values);
    const streamId = groupChatStream(chat.values.id!);
    await expect(200, method, url, { user: 'alice', headers: { 'x-consistency-token': chat.token } });
    await expect(400, method, url, { user: 'alice', headers: { 'x-consistency-token': 'not a token' } });
    await expect(401, method, url);
    await expect(503, method, url, { user: 'alice' }, down);
    await expect(504, method, url, { user: 'alice', headers: { 'x-consistency-token': encodeConsistencyToken({ streamId, version: 99 }) } });
    if (statuses.includes(404)) await expect(404, method, url, { user: 'carol' });
  }

  // Health.
  for (const url of ['/command/v1/healthcheck', '/query/healthcheck']) {
    await expect(200, 'GET', `${url}?deep=true`);
    await expect(400, 'GET', `${url}?deep=maybe`);
    await expect(503, 'GET', `${url}?deep=true`, {}, down);
  }

  t.same(
    contract.documented().filter((answer) => !contract.seen.has(answer)),
    [],
    'every documented answer was produced',
  );
});

/**
 * The description says every command body is `application/json` and that 415 is the answer to
 * "a body that is not JSON". hapi's default would also parse `application/x-www-form-urlencoded`
 * and `text/plain` (a form body accepted as a command, a text one a 400): the server allows
 * JSON only (src/shared/http-server.ts). The scenario above holds answers, not requests; this
 * holds the requests the description refuses. It was found as:
 *   curl -s -X POST localhost:3001/command/v1/group-chats -H "$ALICE" \
 *     -H 'content-type: application/x-www-form-urlencoded' -d 'name=form'   → 201
 */
t.test('a command body that is not JSON answers 415, as the description says', async (t) => {
  const send = checkedClient(server, contract, (problems: string[], exchange: Exchange) => t.same(problems, [], `${exchange.method} ${exchange.url} → ${exchange.status} is as documented`));
  const create = document.paths['/command/v1/group-chats']!.post! as { requestBody: { content: Record<string, unknown> } };
  t.same(Object.keys(create.requestBody.content), ['application/json'], 'the description accepts JSON only');

  const form = await send('POST', '/command/v1/group-chats', { user: 'alice', payload: 'name=form', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  t.equal(form.status, 415, 'a form body is not JSON');
  const text = await send('POST', '/command/v1/group-chats', { user: 'alice', payload: '{"name":"text"}', headers: { 'content-type': 'text/plain' } });
  t.equal(text.status, 415, 'nor is a text/plain body (not a 400 about its shape)');
});

t.test('an undocumented status fails the contract', async (t) => {
  const base = { headers: { 'content-type': 'application/json; charset=utf-8', 'x-request-id': 'r', 'x-content-type-options': 'nosniff' } };
  t.match(contract.problems({ ...base, method: 'POST', url: '/command/v1/group-chats', status: 500, payload: '{}' }), [/status 500 is not documented/]);
  t.match(contract.problems({ ...base, method: 'GET', url: '/query/v1/group-chats', status: 200, payload: '{"items":[]}' }), [/body .*nextCursor/]);
  t.match(contract.problems({ method: 'GET', url: '/query/healthcheck', status: 200, headers: { 'content-type': 'text/plain' }, payload: 'Query Running' }), [
    /headers .*x-request-id|headers .*health-check-depth/,
  ]);
  t.match(contract.problems({ ...base, method: 'GET', url: '/nowhere', status: 404, payload: '{}' }), [/no such operation/]);
});
