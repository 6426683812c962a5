import t from 'tap';
import { issueToken } from '../shared/auth.ts';
import { appServer } from '../testing/app-server.ts';
import { testSecret } from '../testing/command-server.ts';
import { openTestDatabase } from '../testing/databases.ts';
import { closeTestDynamoDb, freshEventStore } from '../testing/stores.ts';

/**
 * The very first requests a process serves arrive together, malformed ones first, before any
 * route's validation has run once: each still answers 400 naming its field, with the body it
 * answers later (the routes' schemas may be loaded on first use).
 */

t.teardown(closeTestDynamoDb);

const id = '01a2260d-7a5f-7261-8377-0b9cd0e06b34';
const bad = (message: string, source: string, key: string) => ({ status: 400, body: { statusCode: 400, error: 'Bad Request', message, validation: { source, keys: [key] } } });

const cases: [method: string, url: string, payload: string | undefined, headers: Record<string, string>, expected: { status: number; body: object }][] = [
  ['POST', '/command/v1/group-chats', '{"name":5}', {}, bad('"name" must be a string', 'payload', 'name')],
  ['POST', '/command/v1/group-chats', '{"name":"x","extra":1}', {}, bad('"extra" is not allowed', 'payload', 'extra')],
  ['POST', '/command/v1/group-chats', '{"name":"x","constructor":{"prototype":1}}', {}, bad('"constructor" is not allowed', 'payload', 'constructor')],
  ['POST', '/command/v1/group-chats', '{"name":"\\ud800"}', {}, bad('"name" must be well-formed Unicode', 'payload', 'name')],
  ['POST', '/command/v1/group-chats', '[]', {}, bad('"CreateGroupChat" must be of type object', 'payload', '')],
  ['POST', '/command/v1/group-chats', 'null', {}, bad('"CreateGroupChat" must be of type object', 'payload', '')],
  ['POST', '/command/v1/group-chats', '{"name":"x"}', { 'idempotency-key': '' }, bad('"idempotency-key" is not allowed to be empty', 'headers', 'idempotency-key')],
  ['POST', '/command/v1/group-chats', '{"name":"x"}', { 'if-match': '"1"' }, bad('"if-match" is not allowed when creating', 'headers', 'if-match')],
  ['POST', '/command/v1/group-chats/not-a-uuid/messages', '{"text":"x"}', {}, bad('"id" must be a valid GUID', 'params', 'id')],
  ['POST', `/command/v1/group-chats/${id}/messages`, '{"text":["x"]}', {}, bad('"text" must be a string', 'payload', 'text')],
  ['POST', `/command/v1/group-chats/${id}/members`, '{"userId":"bad id!"}', {}, bad('"userId" must be 1-64 characters of A-Z, a-z, 0-9, _ or -', 'payload', 'userId')],
  ['DELETE', `/command/v1/group-chats/${id}/members/bad!id`, undefined, {}, bad('"userId" must be 1-64 characters of A-Z, a-z, 0-9, _ or -', 'params', 'userId')],
  ['POST', `/command/v1/group-chats/${id}/rename`, '{"name":""}', {}, bad('"name" is not allowed to be empty', 'payload', 'name')],
  ['GET', '/query/v1/group-chats?limit=0', undefined, {}, bad('"limit" must be greater than or equal to 1', 'query', 'limit')],
  ['GET', '/query/v1/group-chats?limit=abc&x=1', undefined, {}, bad('"limit" must be a number', 'query', 'limit')],
  ['GET', `/query/v1/group-chats/${id}/messages?limit=1e9`, undefined, {}, bad('"limit" must be less than or equal to 200', 'query', 'limit')],
  ['GET', `/query/v1/group-chats/${id}/messages?__proto__=1`, undefined, {}, bad('"__proto__" is not allowed', 'query', '__proto__')],
  ['GET', '/query/v1/group-chats/nope', undefined, {}, bad('"id" must be a valid GUID', 'params', 'id')],
  ['GET', '/query/healthcheck?deep=maybe', undefined, {}, bad('"deep" must be a boolean', 'query', 'deep')],
  ['GET', '/command/v1/healthcheck?deep=1&x=2', undefined, {}, bad('"deep" must be a boolean', 'query', 'deep')],
];

t.test('malformed first requests, all at once, then the same again: 400 naming the field, the same body both times', async (t) => {
  const { store } = await freshEventStore();
  const api = await appServer(store, await openTestDatabase(t, null));
  const authorization = `Bearer ${issueToken('alice', testSecret)}`;
  const send = ([method, url, payload, headers]: (typeof cases)[number]) =>
    api.send(undefined, method, url, payload, { authorization, 'content-type': 'application/json', ...headers });
  const first = await Promise.all(cases.map(send));
  const again = await Promise.all(cases.map(send));
  cases.forEach((c, index) => {
    const label = `${c[0]} ${c[1]} ${c[2] ?? ''}`.slice(0, 90);
    t.same({ status: first[index]!.status, body: first[index]!.body }, c[4], label);
    t.same({ status: again[index]!.status, body: again[index]!.body }, c[4], `${label} (again)`);
  });
  const created = await api.send('alice', 'POST', '/command/v1/group-chats', { name: 'After the malformed ones' });
  t.equal(created.status, 201, 'a well-formed command after them');
});
