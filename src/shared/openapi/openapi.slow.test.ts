import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { refusedDatabase } from '../../testing/databases.ts';
import { servedDocument } from '../../testing/served-document.ts';
import type { OpenApiDocument } from '../../testing/served-document.ts';
import { finishDocument } from './document.ts';

/** The served description: what it must say, and what Redocly's recommended rules say of it. */

let document: OpenApiDocument;
t.before(async () => {
  // Describing the routes reads no projection.
  document = await servedDocument(await refusedDatabase(t));
});

const operations = () =>
  Object.entries(document.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, operation]) => ({ path, method, operation })));

t.test('redocly lint (recommended rules) finds no error and no warning', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'openapi-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'openapi.json');
  await writeFile(file, JSON.stringify(document));
  const cli = join('node_modules', '@redocly', 'cli', 'bin', 'cli.js');
  const run = await promisify(execFile)(process.execPath, [cli, 'lint', file, '--config', 'redocly.yaml', '--format', 'json'], {
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
  }).catch((error: { stdout: string }) => error);
  const report = JSON.parse(run.stdout) as { totals: { errors: number; warnings: number }; problems: { message: string }[] };
  t.same(report.totals, { errors: 0, warnings: 0, ignored: 0 }, report.problems.map((p) => p.message).join('\n'));
});

t.test('every schema has a name of its own and standard formats', async (t) => {
  const names = Object.keys(document.components.schemas);
  t.same(names.filter((name) => !/^[A-Z][A-Za-z]+$/.test(name)), [], 'no Model1, no property-named schema');
  t.ok(names.includes('Error') && names.includes('GroupChatCreated') && names.includes('CreateGroupChat'));
  const text = JSON.stringify(document);
  t.notMatch(text, /x-format|x-convert|x-meta/, 'no joi leftovers');
  t.match(document.components.schemas, {
    GroupChat: { properties: { groupChatId: { type: 'string', format: 'uuid' }, createdAt: { type: 'string', format: 'date-time' } } },
    Message: { properties: { editedAt: { type: 'string', format: 'date-time', nullable: true } } },
  });
});

t.test('every operation answers its errors with the error body and an example', async (t) => {
  for (const { path, method, operation } of operations()) {
    const statuses = Object.keys(operation.responses);
    t.ok(statuses.some((status) => status.startsWith('4')), `${method} ${path} documents a 4xx`);
    for (const status of statuses.filter((s) => Number(s) >= 400)) {
      t.match(
        operation.responses[status],
        { content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' }, example: { statusCode: Number(status) } } } },
        `${method} ${path} ${status}`,
      );
    }
  }
});

t.test('the headers each answer carries are described', async (t) => {
  t.match(document.components.headers, { 'X-Request-Id': { schema: {} }, ETag: { schema: {} }, 'Retry-After': { schema: {} } });
  for (const { path, method, operation } of operations()) {
    for (const [status, response] of Object.entries(operation.responses as Record<string, { headers: Record<string, unknown> }>)) {
      t.ok(response.headers['X-Request-Id'] && response.headers['X-Content-Type-Options'], `${method} ${path} ${status}: request id, nosniff`);
      if (status === '503') t.ok(response.headers['Retry-After'], `${method} ${path} 503: Retry-After`);
      if (status === '401') t.ok(response.headers['WWW-Authenticate'], `${method} ${path} 401: WWW-Authenticate`);
      if (path.startsWith('/command/v1/group-chats') && status.startsWith('2')) t.ok(response.headers.ETag, `${method} ${path} ${status}: ETag`);
    }
  }
  const parameters = document.components.parameters as Record<string, { in: string; name: string }>;
  const header = (path: string, method: string) =>
    (document.paths[path]![method] as unknown as { parameters: { in?: string; name?: string; $ref?: string }[] }).parameters
      .map((p) => (p.$ref ? parameters[p.$ref.replace('#/components/parameters/', '')]! : p))
      .filter((p) => p.in === 'header')
      .map((p) => p.name!);
  const everywhere = ['X-Amzn-Trace-Id', 'X-Request-Id', 'traceparent'];
  t.same(header('/command/v1/group-chats/{id}/rename', 'post').sort(), ['Idempotency-Key', 'If-Match', ...everywhere]);
  t.same(header('/command/v1/group-chats', 'post').sort(), ['Idempotency-Key', ...everywhere], 'no If-Match on a create');
  t.same(header('/query/v1/group-chats/{id}', 'get').sort(), ['X-Amzn-Trace-Id', 'X-Consistency-Token', 'X-Request-Id', 'traceparent']);
  t.same(header('/query/healthcheck', 'get').sort(), everywhere);
});

t.test('health routes: no token, text answers; DELETE routes take no body', async (t) => {
  for (const path of ['/command/v1/healthcheck', '/query/healthcheck']) {
    const health = document.paths[path]!.get!;
    t.same(health.security, [], `${path} needs no token`);
    t.match(health.responses['200'], { content: { 'text/plain': { schema: { type: 'string' } } } });
    t.notOk(Object.hasOwn((health.responses['200'] as { content: object }).content, 'application/json'));
  }
  t.same(document.security, [{ bearer: [] }], 'everything else needs a bearer token');
  const deletes = operations().filter(({ method }) => method === 'delete');
  t.equal(deletes.length, 3);
  for (const { path, operation } of deletes) t.equal(operation.requestBody, undefined, `DELETE ${path}`);
});

t.test('finishing a description is pure and keeps what it does not know', async (t) => {
  const source = {
    openapi: '3.0.0',
    paths: { '/x': { delete: { requestBody: {}, responses: { 200: { description: 'ok' } } }, parameters: [] } },
    components: { schemas: { Loose: { type: 'object' }, Kept: { type: 'object', properties: { a: { type: 'string', 'x-format': { hex: true } } } } } },
  };
  const before = JSON.stringify(source);
  const finished = finishDocument(source);
  t.equal(JSON.stringify(source), before, 'the input is not touched');
  t.same((finished.components as { schemas: object }).schemas, {}, 'unreferenced schemas go');
  t.match(finished.paths, { '/x': { delete: { parameters: [{ $ref: '#/components/parameters/RequestId' }] }, parameters: [] } });
});
