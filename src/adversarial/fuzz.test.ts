import t from 'tap';
import { encodeConsistencyToken } from '../contracts/consistency-token.ts';
import { groupChatStream, messageStream } from '../contracts/streams.ts';
import { encodePageCursor } from '../modules/query/page-cursor.ts';
import { issueToken } from '../shared/auth.ts';
import { describedOperations } from '../testing/described-operations.ts';
import { testSecret } from '../testing/command-server.ts';
import { openTestDatabase } from '../testing/databases.ts';
import { prng } from '../testing/prng.ts';
import { documentedServer } from '../testing/served-document.ts';
import { closeTestDynamoDb, freshEventStore } from '../testing/stores.ts';

/**
 * docs/api.md, robustness: thousands of seeded random requests to both modules (hostile ids and
 * user names, tampered tokens, cursors and If-Match, bodies of every shape) never get a 5xx or a
 * stack trace, and every answer carries its request id and nosniff. A failure names its seed and
 * case: `FUZZ_SEED=<seed> npx tap src/adversarial/fuzz.test.ts` replays it.
 */

t.teardown(closeTestDynamoDb);

t.test('1,200 malformed requests to both modules never get a 5xx or a stack trace', async (t) => {
  const { store } = await freshEventStore();
  const api = await documentedServer(store, await openTestDatabase(t, null));
  const { document } = api;
  const { id: chatId, body: created } = await api.as('alice').createChat('Fuzz');
  await api.as('alice').addMember(chatId, 'constructor');
  const { id: messageId } = await api.as('alice').post(chatId, 'target');
  const { id: otherChat } = await api.as('bob').createChat('Not alice');
  const seed = Number(process.env.FUZZ_SEED ?? 20261128);
  const { next, pick } = prng(seed);

  const ids = [chatId, otherChat, messageId, 'not-a-uuid', '', '%00', '..%2F..', '%2e%2e', 'x'.repeat(300), '12345678-1234-1234-1234-1234567890ab', '00000000-0000-0000-0000-000000000000', '😀', 'constructor'];
  const users = ['alice', 'bob', 'constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', 'bad user', '', 'x'.repeat(65), '%2e%2e', '<script>', '..'];
  const cursors = [
    encodePageCursor({ at: new Date(), id: messageId }),
    encodePageCursor({ at: new Date(0), id: chatId }),
    Buffer.from(JSON.stringify(['0000-01-01T00:00:00.000Z', messageId])).toString('base64url'),
    Buffer.from(JSON.stringify(['+275760-09-13T00:00:00.000Z', messageId])).toString('base64url'),
    'abc',
    '',
    'WyIyMDI2LTAxLTAxVDAwOjAwOjAwLjAwMFoiLCJ4Il0',
  ];
  const limits = ['', '1', '0', '-5', '200', '201', '999', '1000000000', '1e3', 'x', '1.5'];
  const pageQuery = () => {
    const parts = [];
    if (next() < 0.6) parts.push(`limit=${pick(limits)}`);
    if (next() < 0.5) parts.push(`before=${pick(cursors)}`);
    if (next() < 0.1) parts.push('other=1');
    return parts.length ? `?${parts.join('&')}` : '';
  };
  // Every described route, its path parameters filled with hostile picks (a user id from the
  // users, any other id from the ids): a new route is fuzzed as soon as it is served.
  const operations = describedOperations(document);
  const routePaths = [...new Set(operations.map((operation) => operation.path))];
  const paths = [
    ...routePaths.map((path) => () => `${path.replace(/\{(\w+)\}/g, (_, name: string) => (name === 'userId' ? pick(users) : pick(ids)))}${path.startsWith('/query/') ? pageQuery() : ''}`),
    () => `/command/v1/healthcheck?deep=${pick(['true', 'no', '', '1', '%ff'])}`,
    () => `/query/healthcheck?deep=${pick(['true', 'false', 'x'])}`,
    () => pick(['/', '/documentation', '/events', '/command', '/query/v1', '/command/v1/group-chats/../healthcheck']),
  ];
  t.ok(routePaths.length >= 8, `${routePaths.length} described paths`);
  const values: unknown[] = [
    null,
    true,
    0,
    -1,
    1e308,
    '',
    ' ',
    'x'.repeat(70),
    'y'.repeat(5000),
    '\u0000\u0001\u001f',
    '\u202e reversed',
    'admin',
    'member',
    'constructor',
    '__proto__',
    [],
    ['admin'],
    {},
    { nested: { deeper: [1, 2, 3] } },
  ];
  // The fields of every described body, and names no body has.
  const described = operations.flatMap((operation) => Object.keys(operation.sampleBody ?? {}));
  const fields = [...new Set([...described, 'constructor', 'toString', 'extra'])];
  const randomObject = () => {
    const body: Record<string, unknown> = {};
    const count = Math.floor(next() * 4);
    for (let n = 0; n < count; n++) body[pick(fields)] = pick(values);
    return body;
  };
  const validBodies = operations.flatMap((operation) => (operation.sampleBody ? [operation.sampleBody] : []));
  const rawBodies = ['{', '{"name":', '[1,2', 'null', '"just a string"', '{"name":"a","name":"b"}', '\u0000', 'name=x', '{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"x":1}}}'];
  const authorizations = [
    ...users.slice(0, 7).map((user) => () => `Bearer ${issueToken(user, testSecret)}`),
    () => 'Bearer ',
    () => 'Bearer a.b.c',
    () => `Bearer ${issueToken('alice', 'some-other-secret-value')}`,
    () => 'Token abc',
    () => '',
  ];
  const tokens = [
    created.token as string,
    encodeConsistencyToken({ streamId: groupChatStream(otherChat), version: 99 }),
    encodeConsistencyToken({ streamId: groupChatStream(otherChat), version: 1 }),
    encodeConsistencyToken({ streamId: messageStream(messageId), version: 1 }),
    encodeConsistencyToken({ streamId: messageStream('00000000-0000-7000-8000-000000000000'), version: 5 }),
    '',
    'abc',
    'R3JvdXBDaGF0LXhAMQ',
    '!!',
    'x'.repeat(500),
  ];

  const count = 1_200;
  let failures = 0;
  for (let n = 0; n < count; n++) {
    const method = pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD']);
    const url = pick(paths)();
    const headers: Record<string, string> = { authorization: pick(authorizations)() };
    if (next() < 0.3) headers['idempotency-key'] = pick(['k', '', ' ', 'x'.repeat(200), 'ünïcode', 'key-1', 'key-2']);
    if (next() < 0.3) headers['if-match'] = pick(['"1"', '"2"', '"999"', '1', '"-1"', '"abc"', '*', '"99999999999999999999"', 'W/"1"']);
    if (next() < 0.2) headers['x-consistency-token'] = pick(tokens);
    if (next() < 0.1) headers['x-request-id'] = pick(['fuzz-1', '', 'x'.repeat(300), 'a b']);
    let payload: string | undefined;
    if (method !== 'GET' && method !== 'HEAD' && next() < 0.9) {
      const shape = next();
      if (shape < 0.25) {
        payload = pick(rawBodies);
        headers['content-type'] = pick(['application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream']);
      } else {
        payload = JSON.stringify(shape < 0.5 ? pick(validBodies) : next() < 0.8 ? randomObject() : pick(values));
        headers['content-type'] = 'application/json';
      }
    }
    const response = await api.server.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) });
    const problems = [
      response.statusCode >= 500 ? `status ${response.statusCode}` : '',
      /\.ts:\d+|at [A-Za-z.]+ \(/.test(response.payload) ? 'a stack trace' : '',
      typeof response.headers['x-request-id'] === 'string' ? '' : 'no x-request-id',
      response.headers['x-content-type-options'] === 'nosniff' ? '' : 'no nosniff',
    ].filter(Boolean);
    if (problems.length > 0) {
      failures++;
      t.fail(`seed ${seed}, case ${n}: ${method} ${url} ${payload ?? ''} → ${response.statusCode} ${response.payload} (${problems.join(', ')})`);
    }
  }
  t.equal(failures, 0, `${count} malformed requests: no 5xx, no stack trace, every answer identified`);
});
