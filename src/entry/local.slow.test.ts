import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { issueToken } from '../shared/auth.ts';
import { childEnv } from '../testing/child-env.ts';
import { startLocal as start } from '../testing/local-process.ts';
import { sendRaw, statusOf } from '../testing/raw-http.ts';

/** `npm start`'s entry over a real socket: start, serve, stop cleanly, restart with the data kept. */

const secret = 'local-entry-test-secret';
const startLocal = (dataDir: string) => start(dataDir, { JWT_SECRET: secret });

t.test('local entry', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'cqrs-local-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const authorization = `Bearer ${issueToken('alice', secret)}`;
  const create = (url: string) =>
    fetch(`${url}/command/v1/group-chats`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json', 'idempotency-key': 'e2e' },
      body: JSON.stringify({ name: 'End to end' }),
    });

  const first = await startLocal(dataDir);
  const created = await create(first.url);
  t.equal(created.status, 201);
  const body = await created.text();
  t.match(created.headers.get('x-request-id'), /.+/);
  t.equal((await fetch(`${first.url}/command/v1/healthcheck?deep=true`)).status, 200);
  for (const path of ['/events', '/query/v1/../../events', '/query/v1/%2e%2e/%2e%2e/events']) {
    const response = await fetch(`${first.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"Records":[]}' });
    t.equal(response.status, 404, `POST ${path}: local mode has no stream endpoint`);
  }
  const docs = await fetch(`${first.url}/openapi.json`);
  t.equal(docs.status, 200);
  t.match(await docs.json(), { openapi: /^3\./, paths: { '/command/v1/group-chats': { post: {} } } });
  t.ok(
    first.lines.some((line) => line.includes('"req"') && line.includes('"id"')),
    'requests are logged as JSON with a request id',
  );

  // docs/api.md, robustness, against the real entry: bytes that once ended the process, and a
  // header flood.
  const port = Number(new URL(first.url).port);
  const killer = await sendRaw(
    port,
    `POST /command/v1/group-chats HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\n` +
      'Content-Type: application/json\r\nContent-Length: 8\r\nConnection: close\r\n\r\n{"name":XY',
  );
  t.equal(statusOf(killer), 400, 'a body that does not parse, bytes past its length: 400');
  t.equal(statusOf(await sendRaw(port, `GET /query/v1/group-chats HTTP/1.1\r\nHost: x\r\nX-Flood: ${'F'.repeat(64 * 1024)}\r\n\r\n`)), 431);
  t.equal((await fetch(`${first.url}/command/v1/healthcheck?deep=true`)).status, 200, 'the process still serves');
  t.notOk(first.lines.join('\n').includes(authorization.slice('Bearer '.length)), 'no bearer token in the log');
  t.ok(first.lines.every((line) => Buffer.byteLength(line) <= 16 * 1024), 'every log line bounded');

  const second = await startLocal(dataDir).catch((error: Error) => error);
  t.type(second, Error, 'a second server on the same data folder refuses to start');
  t.match((second as Error).message, /in use by another running server/);

  first.child.kill('SIGTERM');
  t.equal(await first.exited, 0, 'SIGTERM stops cleanly');
  t.ok(first.lines.some((line) => line.includes('"msg":"stopped"')));

  const restarted = await startLocal(dataDir);
  const retried = await create(restarted.url);
  t.equal(retried.status, 201);
  t.equal(await retried.text(), body, 'the retry after a restart finds the chat created before it');
  const { groupChatId, token } = JSON.parse(body) as { groupChatId: string; token: string };
  const chat = await fetch(`${restarted.url}/query/v1/group-chats/${groupChatId}`, {
    headers: { authorization, 'x-consistency-token': token },
  });
  t.equal(chat.status, 200, 'the projection kept across the restart answers');
  t.match(await chat.json(), { groupChatId, name: 'End to end', members: [{ userId: 'alice', role: 'admin' }] });
  t.equal((await fetch(`${restarted.url}/query/healthcheck?deep=true`)).status, 200);
  restarted.child.kill('SIGINT');
  t.equal(await restarted.exited, 0, 'SIGINT stops cleanly');
});

t.test('a malformed setting stops the process with one line naming it', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/entry/local.ts'], {
    env: childEnv({ PORT: 'not-a-port' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  t.equal(code, 1);
  t.match(stderr, /configuration error: "PORT" must be a number/);
});
