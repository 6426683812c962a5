import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import Hapi from '@hapi/hapi';
import t from 'tap';
import type { Test } from 'tap';
import { issueToken } from '../shared/auth.ts';
import { createHttpServer } from '../shared/http-server.ts';
import { appServer } from '../testing/app-server.ts';
import { capturedLogger } from '../testing/log-capture.ts';
import { testSecret } from '../testing/command-server.ts';
import { openTestDatabase } from '../testing/databases.ts';
import { eventually } from '../testing/eventually.ts';
import { sendRaw, statusOf } from '../testing/raw-http.ts';
import { closeTestDynamoDb, freshEventStore } from '../testing/stores.ts';

/**
 * docs/api.md, robustness: no request can stop or wedge the process. Each case sends raw bytes over
 * a real socket, then proves the server still answers a health check and a real command.
 */

t.teardown(closeTestDynamoDb);

/**
 * What escapes every handler while the test runs: an error that would end a production process
 * fails the test instead. Caught for this test only, so that tests run after it in the same
 * process still crash on what escapes them.
 */
function escapes(t: Test): unknown[] {
  const escaped: unknown[] = [];
  const onEscape = (error: unknown) => escaped.push(error);
  process.on('unhandledRejection', onEscape);
  process.on('uncaughtException', onEscape);
  t.teardown(() => {
    process.off('unhandledRejection', onEscape);
    process.off('uncaughtException', onEscape);
  });
  return escaped;
}

const token = issueToken('alice', testSecret);
const crlf = (lines: readonly string[]) => lines.join('\r\n');
const post = (path: string, body: string, extra: readonly string[] = [], length = Buffer.byteLength(body)) =>
  crlf([
    `POST ${path} HTTP/1.1`,
    'Host: x',
    `Authorization: Bearer ${token}`,
    'Content-Type: application/json',
    `Content-Length: ${length}`,
    ...extra,
    '',
    body,
  ]);

/** The issue's reproduction: a body that does not parse, Connection: close, bytes past Content-Length. */
const killer = post('/command/v1/group-chats', '{"name":XY', ['Connection: close'], 8);

t.test('a bare hapi server with an onPreResponse hook has the flaw our server factory closes', async (t) => {
  const escaped = escapes(t);
  // Documents the cause (cf. hapijs/hapi#4363, fixed upstream only for pipelined requests): hapi's clientError handler replies through the
  // request in flight while its lifecycle still runs. Our factory must not inherit it.
  const bare = Hapi.server({ port: 0, host: '127.0.0.1', debug: false });
  bare.route({ method: 'POST', path: '/command/v1/group-chats', handler: () => 'ok' });
  bare.ext('onPreResponse', (_request, h) => h.continue);
  const ours = createHttpServer({ port: 0, host: '127.0.0.1' });
  ours.route({ method: 'POST', path: '/command/v1/group-chats', options: { auth: false }, handler: () => 'ok' });
  ours.ext('onPreResponse', (_request, h) => h.continue);
  await Promise.all([bare.start(), ours.start()]);
  t.teardown(() => Promise.all([bare.stop({ timeout: 1 }), ours.stop({ timeout: 1 })]).then(() => undefined));
  // hapi alone leaves the connection open: the test is over once the error has escaped.
  const assertEscaped = new Promise<void>((resolve) => {
    const seen = (error: unknown) => {
      if ((error as Error).name !== 'AssertError') return;
      process.off('unhandledRejection', seen);
      process.off('uncaughtException', seen);
      resolve();
    };
    process.on('unhandledRejection', seen);
    process.on('uncaughtException', seen);
  });
  await sendRaw((bare.listener.address() as AddressInfo).port, killer, { until: assertEscaped });
  await new Promise((resolve) => setImmediate(resolve));
  // If this ever fails, hapi fixed it: the bytes below then prove nothing, and the clientError
  // handler of shared/http-server.ts may go.
  t.ok(escaped.splice(0).some((error) => (error as Error).name === 'AssertError'), 'hapi alone lets an AssertError escape');
  const before = escaped.length;
  const oursAnswer = await sendRaw((ours.listener.address() as AddressInfo).port, killer);
  t.equal(statusOf(oursAnswer), 400);
  t.match(oursAnswer, /Invalid request payload JSON format/);
  t.equal(escaped.length, before, 'nothing escapes our server');
});

t.test('raw bytes never stop the server', async (t) => {
  const escaped = escapes(t);
  const { store } = await freshEventStore();
  const api = await appServer(store, await openTestDatabase(t, null), { listen: true });
  t.teardown(() => api.server.stop({ timeout: 1 }));
  const port = api.server.info.port as number;

  const stillServing = async (t: Test, label: string) => {
    const health = await sendRaw(port, crlf(['GET /command/v1/healthcheck HTTP/1.1', 'Host: x', 'Connection: close', '', '']));
    t.equal(statusOf(health), 200, `${label}: health still answers`);
    const created = await sendRaw(port, post('/command/v1/group-chats', '{"name":"still here"}', ['Connection: close']));
    t.equal(statusOf(created), 201, `${label}: commands still work`);
    t.same(escaped, [], `${label}: no error escaped`);
  };

  const cases: { name: string; bytes: string | Buffer | (string | Buffer)[]; close?: 'end' | 'destroy'; expect?: RegExp }[] = [
    { name: 'the reproduction: unparsable body, Connection: close, bytes past Content-Length', bytes: killer, expect: /^HTTP\/1\.1 400[\s\S]*Invalid request payload JSON format/ },
    { name: 'the same without Connection: close', bytes: post('/command/v1/group-chats', '{"name":XY', [], 8), expect: /^HTTP\/1\.1 400/ },
    { name: 'a valid body followed by junk', bytes: post('/command/v1/group-chats', '{"name":"ok"}GARBAGE', ['Connection: close'], 13), expect: /^HTTP\/1\.1 201/ },
    { name: 'junk pipelined after a valid request', bytes: `${crlf(['GET /command/v1/healthcheck HTTP/1.1', 'Host: x', '', ''])}\u0001\u0002 NOT HTTP\r\n\r\n`, expect: /^HTTP\/1\.1 200[\s\S]*HTTP\/1\.1 400/ },
    { name: 'a request and the end of the stream right behind it', bytes: post('/command/v1/group-chats', '{"name":"half closed"}'), close: 'end' },
    { name: 'a request line that is not HTTP', bytes: 'GARBAGE\r\n\r\n', expect: /^HTTP\/1\.1 400/ },
    { name: 'an HTTP/2 preface on an HTTP/1.1 port', bytes: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', expect: /^HTTP\/1\.1 (400|505)/ },
    { name: 'a header without a colon', bytes: crlf(['GET /query/healthcheck HTTP/1.1', 'Host: x', 'NoColonHere', '', '']), expect: /^HTTP\/1\.1 400/ },
    { name: 'a NUL in a header value', bytes: crlf(['GET /query/healthcheck HTTP/1.1', 'Host: x', 'X-Evil: a\u0000b', '', '']), expect: /^HTTP\/1\.1 400/ },
    { name: 'a 64 KB header', bytes: crlf(['GET /query/v1/group-chats HTTP/1.1', 'Host: x', `X-Big: ${'A'.repeat(64 * 1024)}`, '', '']), expect: /^HTTP\/1\.1 431/ },
    { name: 'Content-Length and Transfer-Encoding together (smuggling)', bytes: crlf(['POST /command/v1/group-chats HTTP/1.1', 'Host: x', `Authorization: Bearer ${token}`, 'Content-Type: application/json', 'Content-Length: 4', 'Transfer-Encoding: chunked', '', '0', '', '']), expect: /^HTTP\/1\.1 400/ },
    { name: 'two different Content-Lengths', bytes: crlf(['POST /command/v1/group-chats HTTP/1.1', 'Host: x', 'Content-Length: 3', 'Content-Length: 30', '', 'abc']), expect: /^HTTP\/1\.1 400/ },
    { name: 'a chunk size that is not hex', bytes: crlf(['POST /command/v1/group-chats HTTP/1.1', 'Host: x', `Authorization: Bearer ${token}`, 'Content-Type: application/json', 'Transfer-Encoding: chunked', '', 'zz', '{}', '0', '', '']), expect: /^HTTP\/1\.1 400/ },
    { name: 'a body past 16 KB', bytes: post('/command/v1/group-chats', `{"name":"${'x'.repeat(20_000)}"}`, ['Connection: close']), expect: /^HTTP\/1\.1 413/ },
    {
      name: 'a chunked body past 16 KB',
      bytes: crlf(['POST /command/v1/group-chats HTTP/1.1', 'Host: x', `Authorization: Bearer ${token}`, 'Content-Type: application/json', 'Transfer-Encoding: chunked', 'Connection: close', '', (20_011).toString(16), `{"name":"${'x'.repeat(20_000)}"}`, '0', '', '']),
      expect: /^HTTP\/1\.1 413[\s\S]*Payload content length greater than maximum allowed/,
    },
    {
      name: 'a chunked body past 16 KB on a connection meant to stay open',
      bytes: crlf(['POST /command/v1/group-chats HTTP/1.1', 'Host: x', `Authorization: Bearer ${token}`, 'Content-Type: application/json', 'Transfer-Encoding: chunked', '', '4000', 'x'.repeat(0x4000), '4000', 'x'.repeat(0x4000), '0', '', '']),
      expect: /^HTTP\/1\.1 413[\s\S]*connection: close/i,
    },
    {
      name: 'a chunked body within 16 KB',
      bytes: crlf(['POST /command/v1/group-chats HTTP/1.1', 'Host: x', `Authorization: Bearer ${token}`, 'Content-Type: application/json', 'Transfer-Encoding: chunked', 'Connection: close', '', '7', '{"name"', '8', ':"chunk"', '1', '}', '0', '', '']),
      expect: /^HTTP\/1\.1 201/,
    },
    { name: 'a body that is not JSON', bytes: post('/command/v1/group-chats', '\u0000\u00ff\u0001', ['Connection: close']), expect: /^HTTP\/1\.1 400/ },
    { name: 'a body with __proto__', bytes: post('/command/v1/group-chats', '{"name":"x","__proto__":{"isAdmin":true}}', ['Connection: close']), expect: /^HTTP\/1\.1 400/ },
    { name: 'gzip that is not gzip', bytes: post('/command/v1/group-chats', 'not gzip at all', ['Content-Encoding: gzip', 'Connection: close']), expect: /^HTTP\/1\.1 4\d\d/ },
    { name: 'a charset nobody speaks', bytes: crlf(['POST /command/v1/group-chats HTTP/1.1', 'Host: x', `Authorization: Bearer ${token}`, 'Content-Type: application/json; charset=klingon', 'Content-Length: 13', 'Connection: close', '', '{"name":"ok"}']), expect: /^HTTP\/1\.1 (201|4\d\d)/ },
    { name: 'Expect: 100-continue with its body', bytes: post('/command/v1/group-chats', '{"name":"continued"}', ['Expect: 100-continue', 'Connection: close']), expect: /HTTP\/1\.1 201/ },
    { name: 'a path with encoded NUL and dot segments', bytes: crlf(['GET /query/v1/group-chats/%00/../..%2F..%2Fetc HTTP/1.1', 'Host: x', `Authorization: Bearer ${token}`, 'Connection: close', '', '']), expect: /^HTTP\/1\.1 4\d\d/ },
    { name: 'a malformed percent-encoding', bytes: crlf(['GET /query/v1/group-chats/%E0%A4%A HTTP/1.1', 'Host: x', 'Connection: close', '', '']), expect: /^HTTP\/1\.1 4\d\d/ },
    { name: 'an absolute-form target with a hostile host', bytes: crlf(['GET http://evil.example:99999/command/v1/healthcheck HTTP/1.1', 'Host: ', 'Connection: close', '', '']), expect: /^HTTP\/1\.1 (200|400)/ },
    { name: 'a method hapi does not know', bytes: crlf(['BREW /command/v1/healthcheck HTTP/1.1', 'Host: x', 'Connection: close', '', '']), expect: /^HTTP\/1\.1 (400|404|405)/ },
    { name: 'an odd Authorization header', bytes: crlf(['GET /query/v1/group-chats HTTP/1.1', 'Host: x', `Authorization: Bearer ${'a.'.repeat(2000)}`, 'Connection: close', '', '']), expect: /^HTTP\/1\.1 401/ },
    { name: 'a header split into chunks over time', bytes: ['GET /command/v1/heal', 'thcheck HTTP/1.1\r\nHo', 'st: x\r\nConnection: close\r\n\r\n'], expect: /^HTTP\/1\.1 200/ },
    { name: 'an early close half-way through the headers', bytes: 'POST /command/v1/group-chats HTTP/1.1\r\nHost: x\r\nAuthor', close: 'destroy' },
    { name: 'an early close half-way through the body', bytes: post('/command/v1/group-chats', '{"name":"hal', [], 40), close: 'destroy' },
    { name: 'an early close right after a whole request', bytes: post('/command/v1/group-chats', '{"name":"gone before the answer"}'), close: 'destroy' },
    { name: 'a body shorter than its Content-Length, then the end of the stream', bytes: post('/command/v1/group-chats', '{"name":"sh', [], 40), close: 'end' },
  ];
  for (const { name, bytes, close, expect } of cases) {
    t.test(name, async (t) => {
      const answer = await sendRaw(port, bytes, close ? { close } : {});
      if (expect) t.match(answer, expect, 'answered as HTTP says');
      await stillServing(t, name);
    });
  }
});

t.test('what the HTTP parser refuses is answered like any other error: a JSON body, its own request id, nosniff', async (t) => {
  const escaped = escapes(t);
  const { store } = await freshEventStore();
  const api = await appServer(store, await openTestDatabase(t, null), { listen: true });
  t.teardown(() => api.server.stop({ timeout: 1 }));
  const port = api.server.info.port as number;
  const refused = [
    { bytes: 'GARBAGE\r\n\r\n', status: 400 },
    { bytes: crlf(['GET /query/healthcheck HTTP/1.1', 'Host: x', 'NoColonHere', '', '']), status: 400 },
    { bytes: crlf(['GET /query/v1/group-chats HTTP/1.1', 'Host: x', `X-Big: ${'A'.repeat(20 * 1024)}`, '', '']), status: 431 },
  ];
  const ids = new Set<string>();
  for (const { bytes, status } of refused) {
    const answer = await sendRaw(port, bytes);
    const [head = '', body = ''] = answer.split('\r\n\r\n');
    t.match(head, new RegExp(`^HTTP/1\\.1 ${status} `), `${status}`);
    t.match(head, /\r\nx-content-type-options: nosniff\r\n/i, 'nosniff');
    t.match(head, /\r\ncontent-type: application\/json; charset=utf-8\r\n/i, 'JSON');
    const id = /\r\nx-request-id: ([0-9a-f-]{36})(\r\n|$)/i.exec(head)?.[1];
    t.ok(id, 'a request id');
    ids.add(id ?? '');
    t.same(Object.keys(JSON.parse(body) as object), ['statusCode', 'error', 'message']);
    t.equal((JSON.parse(body) as { statusCode: number }).statusCode, status);
  }
  t.equal(ids.size, refused.length, 'a new id each time');
  t.same(escaped, [], 'no error escaped');
});

/**
 * Writes `head`, then one byte of `trickle` at a time until the server closes the connection:
 * a caller that never finishes its request. Resolves with what the server sent back.
 */
function trickle(port: number, head: string, byte: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    socket.on('data', (data: Buffer) => received.push(data));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      resolve(Buffer.concat(received).toString('latin1'));
    });
    socket.on('connect', () => {
      socket.write(head);
      timer = setInterval(() => socket.writable && socket.write(byte), 50);
    });
  });
}

t.test('a request that trickles in is cut at its deadline: 408 once, and the connection closed', async (t) => {
  const escaped = escapes(t);
  const { store } = await freshEventStore();
  // The deadlines are short here so the test is quick; how long they are does not matter to it.
  const { logger, entries } = capturedLogger('info');
  const api = await appServer(store, await openTestDatabase(t, null), { listen: true, logger, deadlines: { headersMs: 300, requestMs: 600 } });
  t.teardown(() => api.server.stop({ timeout: 1 }));
  const port = api.server.info.port as number;
  const head = (auth: readonly string[]) =>
    crlf(['POST /command/v1/group-chats HTTP/1.1', 'Host: x', ...auth, 'Content-Type: application/json', 'Content-Length: 1000', '', '']);

  const headers = await trickle(port, 'GET /query/healthcheck HTTP/1.1\r\nHost: x\r\n', 'X');
  t.equal(statusOf(headers), 408, 'headers that never end: 408');
  t.match(headers, /\r\nx-request-id: [0-9a-f-]{36}\r\n/i, 'with a request id');

  const body = await trickle(port, head([`Authorization: Bearer ${token}`]), ' ');
  t.equal(statusOf(body), 408, 'an authenticated body that never ends: 408');
  t.equal(body.match(/HTTP\/1\.1 /g)?.length, 1, 'one answer');
  t.same(JSON.parse(body.split('\r\n\r\n')[1] ?? ''), { statusCode: 408, error: 'Request Timeout', message: 'the request did not arrive in time' });
  const logged = () => entries().filter((entry) => entry.msg === 'request completed' && (entry.route as string | undefined)?.startsWith('/command/'));
  // The line is written once the server has finished with the request, which may be just after the client saw the end.
  await eventually('the 408 logged', logged, (lines) => lines.length > 0);
  t.match(logged(), [{ status: 408, user: 'alice' }], 'and its log line says 408, not the 200 nobody sent');

  // Answers given before the body is in: a server with room to give them (on a busy machine too)
  // before its own request deadline ends each connection.
  const patient = await appServer(store, await openTestDatabase(t, null), { listen: true, deadlines: { headersMs: 2_000, requestMs: 2_000 } });
  t.teardown(() => patient.server.stop({ timeout: 1 }));
  const early = patient.server.info.port as number;
  const declared = await trickle(early, head([`Authorization: Bearer ${token}`]).replace('Content-Length: 1000', 'Content-Length: 100000'), ' ');
  t.equal(statusOf(declared), 413, 'a body declared over the limit: 413 at once, not a 408 after reading it');
  t.equal(declared.match(/HTTP\/1\.1 /g)?.length, 1, 'one answer');
  const uploading = await fetch(`http://127.0.0.1:${early}/command/v1/group-chats`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'x'.repeat(256 * 1024) }),
  });
  t.equal(uploading.status, 413, 'a client sending a big body at once reads its 413, not a reset connection');
  t.not(uploading.headers.get('connection'), 'close', 'on a connection that stays open while the rest of the body is discarded');
  const anonymous = await trickle(early, head([]).replace('Content-Length: 1000', 'Content-Length: 100000'), ' ');
  t.equal(statusOf(anonymous), 401, 'the token is still checked first');

  const refused = await trickle(early, head([]), ' ');
  t.equal(statusOf(refused), 401, 'a body still arriving after its 401: the 401');
  t.equal(refused.match(/HTTP\/1\.1 /g)?.length, 1, 'and no second answer');

  const health = await sendRaw(port, crlf(['GET /query/healthcheck HTTP/1.1', 'Host: x', 'Connection: close', '', '']));
  t.equal(statusOf(health), 200, 'the server still answers');
  t.same(escaped, [], 'no error escaped');
});
