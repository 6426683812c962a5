import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import t from 'tap';
import { issueToken } from '../shared/auth.ts';
import { createHttpServer } from '../shared/http-server.ts';
import { defaultMaxLineBytes, logUncaughtErrors, requestLogging } from '../shared/logging.ts';
import { appServer } from '../testing/app-server.ts';
import { testSecret } from '../testing/command-server.ts';
import { openTestDatabase } from '../testing/databases.ts';
import { capturedLogger } from '../testing/log-capture.ts';
import { sendRaw, statusOf } from '../testing/raw-http.ts';
import { closeTestDynamoDb, freshEventStore } from '../testing/stores.ts';

/**
 * docs/api.md, robustness: logs never contain credentials or raw request packets, and a line stays
 * bounded whatever a client sends. Every assertion reads what the project's logger actually wrote.
 */

t.teardown(closeTestDynamoDb);

const token = issueToken('alice', testSecret);
const secrets = {
  cookie: 'session=cookie-secret-1',
  proxy: 'Basic cHJveHktc2VjcmV0LTI=',
  apiKey: 'api-key-secret-3',
  amzToken: 'amz-session-token-secret-4',
};

t.test('what a server under attack writes to its log', async (t) => {
  const { store } = await freshEventStore();
  const { logger, lines } = capturedLogger('debug');
  const api = await appServer(store, await openTestDatabase(t, null), { listen: true, logger });
  t.teardown(() => api.server.stop({ timeout: 1 }));
  const port = api.server.info.port as number;

  // A parse error: Node attaches the raw bytes (bearer token included) to the error it reports.
  const parseError = await sendRaw(
    port,
    `POST /command/v1/group-chats HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nCookie: ${secrets.cookie}\r\n` +
      'Content-Type: application/json\r\nContent-Length: 8\r\nConnection: close\r\n\r\n{"name":XY',
  );
  t.equal(statusOf(parseError), 400);
  // Every credential header, in the casings clients send.
  const headersInOddCasing = await sendRaw(
    port,
    [
      'GET /query/v1/group-chats HTTP/1.1',
      'Host: x',
      `AUTHORIZATION: Bearer ${token}`,
      `CoOkIe: ${secrets.cookie}`,
      `Proxy-Authorization: ${secrets.proxy}`,
      `X-API-KEY: ${secrets.apiKey}`,
      `X-Amz-Security-Token: ${secrets.amzToken}`,
      'Connection: close',
      '',
      '',
    ].join('\r\n'),
  );
  t.equal(statusOf(headersInOddCasing), 200);
  // A header far past what the parser accepts, and one just under it, without a token.
  t.equal(statusOf(await sendRaw(port, `GET /query/v1/group-chats HTTP/1.1\r\nHost: x\r\nX-Flood: ${'F'.repeat(64 * 1024)}\r\n\r\n`)), 431);
  t.equal(statusOf(await sendRaw(port, `GET /query/v1/group-chats HTTP/1.1\r\nHost: x\r\nX-Flood: ${'G'.repeat(12 * 1024)}\r\nConnection: close\r\n\r\n`)), 401);
  // A pipelined parse error behind a good request: the error arrives while a response is due.
  await sendRaw(port, `GET /command/v1/healthcheck HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n\u0001BAD\r\n\r\n`);

  const written = lines();
  const text = written.join('\n');
  t.ok(written.length >= 5, `${written.length} lines were written`);
  t.notOk(text.includes(token), 'no bearer token');
  t.notOk(text.includes(token.split('.')[2]!), 'not even its signature');
  for (const [name, secret] of Object.entries(secrets)) t.notOk(text.includes(secret), `no ${name}`);
  t.notOk(/rawPacket/i.test(text), 'no raw packet');
  t.ok(text.includes('[redacted]'), 'redacted values say so');
  t.ok(
    written.some((line) => line.includes('HPE_')),
    'parse errors are still logged, by their code',
  );
  const longest = Math.max(...written.map((line) => Buffer.byteLength(line)));
  t.ok(longest <= defaultMaxLineBytes, `the longest line is ${longest} bytes`);
  t.ok(
    written.some((line) => line.includes('GGGG') && line.includes('more chars')),
    'a long header is cut, and says so',
  );
});

t.test('credentials are redacted wherever they sit in a logged object, in any casing', async (t) => {
  const { logger, lines } = capturedLogger();
  const sdkError = Object.assign(new Error('AccessDenied'), {
    $metadata: { httpStatusCode: 403 },
    request: { headers: { Authorization: 'AWS4-HMAC-SHA256 Credential=AKIA-secret-5', 'X-Amz-Security-Token': 'secret-6' } },
    rawPacket: Buffer.from('POST / HTTP/1.1\r\nAuthorization: Bearer secret-7'),
  });
  logger.error({ err: sdkError }, 'store call failed');
  logger.info({ data: { nested: [{ headers: { COOKIE: 'secret-8', 'x-api-key': 'secret-9' } }] }, Authorization: 'secret-10' }, 'odd shapes');
  logger.warn({ big: 'z'.repeat(500_000), list: Array.from({ length: 10_000 }, (_, n) => n) }, 'huge');
  const text = lines().join('\n');
  for (let n = 5; n <= 10; n++) t.notOk(text.includes(`secret-${n}`), `secret-${n} never written`);
  t.match(text, /AccessDenied/, 'the error itself is kept');
  t.ok(lines().every((line) => Buffer.byteLength(line) <= defaultMaxLineBytes), 'every line bounded');
});

t.test('an error that escapes everything is logged and the process keeps going', async (t) => {
  const { logger, entries } = capturedLogger();
  const fakeProcess = new EventEmitter();
  logUncaughtErrors(logger, fakeProcess);
  fakeProcess.emit('uncaughtException', new Error('thrown outside any handler'), 'uncaughtException');
  fakeProcess.emit('unhandledRejection', new Error('rejected, never awaited'));
  t.match(entries(), [
    { level: 50, msg: /uncaught exception; the process keeps serving/, err: { message: 'thrown outside any handler' } },
    { level: 50, msg: /unhandled promise rejection; the process keeps serving/, err: { message: 'rejected, never awaited' } },
  ]);
});

t.test('an escaped error that leaves a store unable to write stops the process with one line; any other keeps it serving', async (t) => {
  const { logger, entries } = capturedLogger();
  const fakeProcess = new EventEmitter();
  const exits: number[] = [];
  const fatal = (error: unknown) => ((error as { code?: string }).code === 'LEVEL_IO_ERROR' ? 'the event log cannot be written: stopping' : undefined);
  logUncaughtErrors(logger, fakeProcess, { fatal, exit: (code) => exits.push(code) });
  fakeProcess.emit('uncaughtException', new Error('thrown outside any handler'), 'uncaughtException');
  t.same(exits, [], 'an ordinary escape: still serving');
  fakeProcess.emit('uncaughtException', Object.assign(new Error('IO error: No space left on device'), { code: 'LEVEL_IO_ERROR' }), 'uncaughtException');
  t.same(exits, [1], 'a store fault: exit 1');
  t.match(entries().at(-1), { level: 60, msg: 'the event log cannot be written: stopping', err: { message: /No space left/ } });
});

t.test('a malformed Accept-Encoding is not an error of the service, and its lines carry the request id', async (t) => {
  const { logger, entries } = capturedLogger('debug');
  const server = createHttpServer({ port: 0, host: '127.0.0.1' });
  await server.register(requestLogging(logger));
  server.route({ method: 'GET', path: '/anything', options: { auth: false, handler: () => 'ok' } });
  await server.start();
  t.teardown(() => server.stop());
  const port = server.info.port as number;

  for (const header of [',,,;', 'a;b;c=', 'gzip;q=0.'.repeat(300)]) {
    const before = entries().length;
    const raw = await sendRaw(port, `GET /anything HTTP/1.1\r\nHost: x\r\nAccept-Encoding: ${header}\r\nX-Request-Id: trace-1\r\nConnection: close\r\n\r\n`);
    t.equal(statusOf(raw), 200, 'answered, uncompressed');
    t.match(raw, /\r\nx-request-id: trace-1\r\n/i, 'the client is answered with its id');
    const written = entries().slice(before);
    const ids = written.map((entry) => (entry.req as { id?: string } | undefined)?.id).filter((id) => id !== undefined);
    t.same([...new Set(ids)], ['trace-1'], `every line of the request carries that id (${JSON.stringify(header.slice(0, 12))})`);
    t.notOk(written.some((entry) => JSON.stringify(entry.req ?? {}).includes(`:${hostname()}:`)), 'no request id naming the host');
    t.notOk(
      written.some((entry) => (entry.level as number) >= 50),
      'a client sending a bad header is not an error of the service',
    );
  }
});
