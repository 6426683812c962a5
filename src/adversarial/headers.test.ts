import { hostname } from 'node:os';
import t from 'tap';
import { encodeConsistencyToken } from '../contracts/consistency-token.ts';
import { groupChatStream } from '../contracts/streams.ts';
import { EventStoreUnavailableError } from '../eventstore/index.ts';
import { issueToken } from '../shared/auth.ts';
import { corsExposedHeaders, corsRequestHeaders } from '../shared/cors.ts';
import { appServer } from '../testing/app-server.ts';
import { commandServer, testSecret } from '../testing/command-server.ts';
import { openTestDatabase } from '../testing/databases.ts';
import { closeTestDynamoDb, freshEventStore, wrapStore } from '../testing/stores.ts';

/**
 * docs/api.md, robustness: every response, errors included, carries `x-request-id` and
 * `x-content-type-options: nosniff`; the id reveals no host or process, and an incoming id (the
 * caller's, API Gateway's, Lambda's) is honoured so one id follows a request end to end.
 */

t.teardown(closeTestDynamoDb);

t.test('every status carries a request id and nosniff', async (t) => {
  const { store } = await freshEventStore();
  const database = await openTestDatabase(t, null);
  const api = await appServer(store, database);
  const alice = api.as('alice');
  const bob = api.as('bob');
  const chat = await alice.createChat('Headers');
  await alice.addMember(chat.id, 'bob');
  const deleted = await alice.createChat('Deleted');
  await alice.deleteChat(deleted.id);
  const future = { 'x-consistency-token': encodeConsistencyToken({ streamId: groupChatStream(chat.id), version: 99 }) };
  const impatient = await appServer(store, database, { consistencyTimeoutMs: 1 });
  const crowded = await appServer(store, database, { maxConsistencyWaiters: 0 });
  const down = await commandServer(
    wrapStore(store, {
      readStream: async () => {
        throw new EventStoreUnavailableError('event log unavailable (read): test');
      },
    }),
  );

  const responses: [number, Promise<{ status: number; headers: Record<string, unknown> }>][] = [
    [200, api.send(undefined, 'GET', '/command/v1/healthcheck')],
    [200, api.send('alice', 'GET', '/query/v1/group-chats')],
    [201, alice.createChat('Another')],
    [400, alice.createChat('')],
    [401, api.send(undefined, 'GET', '/query/v1/group-chats')],
    [403, bob.rename(chat.id, 'not allowed')],
    [404, api.as('eve').rename(chat.id, 'unknown to eve')],
    [404, api.send('alice', 'GET', '/no/such/route')],
    [404, api.send('eve', 'GET', `/query/v1/group-chats/${chat.id}`)],
    [409, alice.addMember(chat.id, 'bob')],
    [410, alice.rename(deleted.id, 'gone')],
    [412, alice.rename(chat.id, 'stale', { 'if-match': '"1"' })],
    [413, api.send('alice', 'POST', '/command/v1/group-chats', { name: 'x', pad: 'y'.repeat(20_000) })],
    [422, (async () => {
      await alice.createChat('Keyed', { 'idempotency-key': 'k' });
      return alice.createChat('Other', { 'idempotency-key': 'k' });
    })()],
    [503, down.as('alice').rename(chat.id, 'store down')],
    [503, crowded.send('alice', 'GET', '/query/v1/group-chats', undefined, future)],
    [504, impatient.send('alice', 'GET', '/query/v1/group-chats', undefined, future)],
  ];
  for (const [status, pending] of responses) {
    const response = await pending;
    t.equal(response.status, status);
    t.match(response.headers['x-request-id'], /^[0-9a-f-]{36}$/, `${status}: x-request-id`);
    t.equal(response.headers['x-content-type-options'], 'nosniff', `${status}: nosniff`);
  }
});

t.test('request ids', async (t) => {
  const { store } = await freshEventStore();
  const api = await commandServer(store);
  const idOf = async (headers: Record<string, string>) =>
    (await api.send(undefined, 'GET', '/command/v1/healthcheck', undefined, headers)).headers['x-request-id'] as string;

  const generated = await idOf({});
  t.match(generated, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a random UUID');
  t.notOk(generated.includes(hostname()), 'no host name');
  t.notOk(generated.split(/[^0-9]/).includes(String(process.pid)), 'no process id');
  t.not(await idOf({}), generated, 'a new one per request');

  t.equal(await idOf({ 'x-request-id': 'client-chosen_id.42:7=' }), 'client-chosen_id.42:7=', "the caller's own id");
  for (const bad of ['', 'has space', 'x'.repeat(129), 'quote"d', 'semi;colon', 'ünï', '<script>']) {
    t.match(await idOf({ 'x-request-id': bad }), /^[0-9a-f-]{36}$/, `not ${JSON.stringify(bad).slice(0, 20)}`);
  }

  const apiGateway = JSON.stringify({ requestId: 'JbZLmiH1IAMEPvw=', stage: '$default', http: { method: 'GET' } });
  const lambda = JSON.stringify({ request_id: '3f2a7a1c-52d5-4b0e-9d6f-0c1e2f3a4b5c', deadline: 1795860000000 });
  t.equal(await idOf({ 'x-amzn-request-context': apiGateway, 'x-amzn-lambda-context': lambda }), 'JbZLmiH1IAMEPvw=', 'the API Gateway request id');
  t.equal(await idOf({ 'x-amzn-lambda-context': lambda }), '3f2a7a1c-52d5-4b0e-9d6f-0c1e2f3a4b5c', 'else the Lambda request id');
  t.equal(await idOf({ 'x-request-id': 'mine', 'x-amzn-request-context': apiGateway }), 'JbZLmiH1IAMEPvw=', "behind the gateway, its id wins over the caller's (no caller can reuse another's id)");
  t.equal(await idOf({ 'x-request-id': 'mine', 'x-amzn-lambda-context': lambda }), 'mine', "the caller's before the invocation's");
  for (const context of ['not json', '[]', 'null', '{"requestId":42}', '{"requestId":"has space"}', JSON.stringify({ requestId: 'x'.repeat(200) })]) {
    t.match(await idOf({ 'x-amzn-request-context': context }), /^[0-9a-f-]{36}$/, `a context of ${context.slice(0, 20)} is ignored`);
  }
});

t.test('an answer of a route that needs a token is private and never stored, errors included; health answers are not', async (t) => {
  const { store } = await freshEventStore();
  const api = await appServer(store, await openTestDatabase(t, null));
  const created = await api.send('alice', 'POST', '/command/v1/group-chats', { name: 'Private' });
  const answers = {
    'a create': created,
    'a query': await api.send('alice', 'GET', '/query/v1/group-chats'),
    'a chat': await api.send('alice', 'GET', `/query/v1/group-chats/${created.body.groupChatId as string}`),
    'a 404': await api.send('eve', 'GET', `/query/v1/group-chats/${created.body.groupChatId as string}`),
    'a 401': await api.send(undefined, 'GET', '/query/v1/group-chats'),
    'a 400': await api.send('alice', 'POST', '/command/v1/group-chats', { name: '' }),
  };
  for (const [what, answer] of Object.entries(answers)) t.equal(answer.headers['cache-control'], 'private, no-store', `${what} (${answer.status})`);
  const health = await api.send(undefined, 'GET', '/query/healthcheck');
  t.equal(health.status, 200);
  t.not(health.headers['cache-control'], 'private, no-store', 'a health check is nobody\'s');
});

t.test('CORS: no origin may call the API from a browser unless listed; a listed one may use every header the API reads', async (t) => {
  const { store } = await freshEventStore();
  const database = await openTestDatabase(t, null);
  const page = 'https://app.example.com';
  const preflight = (server: Awaited<ReturnType<typeof appServer>>, origin: string, method = 'POST') =>
    server.server.inject({
      method: 'OPTIONS',
      url: '/command/v1/group-chats',
      headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization, content-type, idempotency-key' },
    });
  const get = (server: Awaited<ReturnType<typeof appServer>>, origin: string) =>
    server.server.inject({ method: 'GET', url: '/query/v1/group-chats', headers: { origin, authorization: `Bearer ${issueToken('alice', testSecret)}` } });

  const closed = await appServer(store, database);
  t.equal((await preflight(closed, page)).statusCode, 404, 'by default a preflight is an unknown route');
  t.notOk((await get(closed, page)).headers['access-control-allow-origin'], 'and an answer allows no origin');

  const open = await appServer(store, database, { corsOrigins: [page] });
  const allowed = await preflight(open, page);
  t.equal(allowed.statusCode, 200, 'a listed origin: the preflight succeeds');
  t.equal(allowed.headers['access-control-allow-origin'], page);
  for (const header of corsRequestHeaders) t.match(String(allowed.headers['access-control-allow-headers']), header, `may send ${header}`);
  t.notOk(allowed.headers['access-control-allow-credentials'], 'no credentials: the API takes bearer tokens, never cookies');
  const answer = await get(open, page);
  t.equal(answer.statusCode, 200);
  t.equal(answer.headers['access-control-allow-origin'], page);
  for (const header of corsExposedHeaders) t.match(String(answer.headers['access-control-expose-headers']), header, `may read ${header}`);
  t.match(String(answer.headers.vary), /origin/, 'caches keep answers per origin');

  for (const other of ['https://evil.example', 'https://app.example.com.evil.example', 'null']) {
    t.notOk((await preflight(open, other)).headers['access-control-allow-origin'], `${other}: the preflight allows nothing`);
    t.notOk((await get(open, other)).headers['access-control-allow-origin'], `${other}: nor does the answer`);
  }
});
