import t from 'tap';
import { issueToken } from '../shared/auth.ts';
import { appServer } from '../testing/app-server.ts';
import { testSecret } from '../testing/command-server.ts';
import { openTestDatabase } from '../testing/databases.ts';
import { prng } from '../testing/prng.ts';
import { closeTestDynamoDb, freshEventStore } from '../testing/stores.ts';

t.teardown(closeTestDynamoDb);

t.test('hundreds of malformed requests to both modules never get a 5xx or a stack trace', async (t) => {
  const { store } = await freshEventStore();
  const api = await appServer(store, await openTestDatabase(t, null));
  const { id: chatId } = await api.as('alice').createChat('Fuzz');
  const { id: messageId } = await api.as('alice').post(chatId, 'target');
  const seed = Number(process.env.FUZZ_SEED ?? 20261128);
  const { next, pick } = prng(seed);

  const ids = [chatId, messageId, 'not-a-uuid', '', '%00', '..%2F..', 'x'.repeat(300), '12345678-1234-1234-1234-1234567890ab', '😀'];
  const users = ['alice', 'bob', 'bad user', '', 'x'.repeat(65), '%2e%2e', '<script>'];
  const paths = [
    () => '/command/v1/group-chats',
    () => `/command/v1/group-chats/${pick(ids)}`,
    () => `/command/v1/group-chats/${pick(ids)}/rename`,
    () => `/command/v1/group-chats/${pick(ids)}/members`,
    () => `/command/v1/group-chats/${pick(ids)}/members/${pick(users)}`,
    () => `/command/v1/group-chats/${pick(ids)}/messages`,
    () => `/command/v1/group-chats/${pick(ids)}/messages/${pick(ids)}`,
    () => `/command/v1/healthcheck?deep=${pick(['true', 'no', '', '1', '%ff'])}`,
    () => '/query/v1/group-chats',
    () => `/query/v1/group-chats/${pick(ids)}`,
    () => `/query/v1/group-chats/${pick(ids)}/messages?${pick(['', 'limit=1', 'limit=0', 'limit=-5', 'limit=999', 'limit=x', 'before=abc', 'before=', 'limit=2&before=WyIyMDI2LTAxLTAxVDAwOjAwOjAwLjAwMFoiLCJ4Il0'])}`,
    () => `/query/healthcheck?deep=${pick(['true', 'false', 'x'])}`,
  ];
  const values: unknown[] = [
    null,
    true,
    0,
    -1,
    1e308,
    '',
    ' ',
    'ok',
    'x'.repeat(5000),
    '\u0000\u0001\u001f',
    '\u202e reversed',
    'admin',
    'member',
    [],
    ['admin'],
    {},
    { nested: { deeper: [1, 2, 3] } },
  ];
  const fields = ['name', 'text', 'userId', 'role', '__proto__', 'constructor', 'extra'];
  const randomObject = () => {
    const body: Record<string, unknown> = {};
    const count = Math.floor(next() * 4);
    for (let n = 0; n < count; n++) body[pick(fields)] = pick(values);
    return body;
  };
  const rawBodies = ['{', '{"name":', '[1,2', 'null', '"just a string"', '{"name":"a","name":"b"}', '\u0000', 'name=x', '{"__proto__":{"admin":true}}'];
  const authorizations = [
    () => `Bearer ${issueToken('alice', testSecret)}`,
    () => `Bearer ${issueToken('bob', testSecret)}`,
    () => 'Bearer ',
    () => 'Bearer a.b.c',
    () => `Bearer ${issueToken('alice', 'some-other-secret-value')}`,
    () => 'Token abc',
    () => '',
  ];

  const count = 400;
  let fiveHundreds = 0;
  for (let n = 0; n < count; n++) {
    const method = pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH']);
    const url = pick(paths)();
    const headers: Record<string, string> = { authorization: pick(authorizations)() };
    if (next() < 0.3) headers['idempotency-key'] = pick(['k', '', ' ', 'x'.repeat(200), 'ünïcode', 'key-1']);
    if (next() < 0.3) headers['if-match'] = pick(['"1"', '1', '"-1"', '"abc"', '*', '"99999999999999999999"', 'W/"1"']);
    if (next() < 0.2) headers['x-consistency-token'] = pick(['', 'abc', 'R3JvdXBDaGF0LXhAMQ', '!!', 'x'.repeat(500)]);
    let payload: string | undefined;
    if (method !== 'GET' && next() < 0.9) {
      if (next() < 0.3) {
        payload = pick(rawBodies);
        headers['content-type'] = pick(['application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream']);
      } else {
        payload = JSON.stringify(next() < 0.8 ? randomObject() : pick(values));
        headers['content-type'] = 'application/json';
      }
    }
    const response = await api.server.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) });
    if (response.statusCode >= 500 || /\.ts:\d+/.test(response.payload)) {
      fiveHundreds++;
      t.fail(`seed ${seed}, case ${n}: ${method} ${url} ${payload ?? ''} → ${response.statusCode} ${response.payload}`);
    }
  }
  t.equal(fiveHundreds, 0, `${count} malformed requests, no 5xx`);
});
