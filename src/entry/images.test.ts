import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import type { Test } from 'tap';
import { buildService } from '../../scripts/build.ts';
import type { Service } from '../../scripts/build.ts';
import { encodeConsistencyToken } from '../contracts/consistency-token.ts';
import { groupChatStream } from '../contracts/streams.ts';
import { issueToken } from '../shared/auth.ts';
import { childEnv } from '../testing/child-env.ts';
import { parseDockerfile } from '../testing/dockerfile.ts';
import type { Dockerfile } from '../testing/dockerfile.ts';
import { insertRecord, streamEvent } from '../testing/stream-events.ts';
import { closeTestDynamoDb, freshEventStore } from '../testing/stores.ts';

/**
 * The image contract (SPEC §6) without a Docker engine: each Dockerfile is read and checked
 * against the rules that broke the predecessor's images, then its ENTRYPOINT/CMD is run against
 * the freshly built bundle with the Dockerfile's ENV (the image's /app mapped to the bundle folder,
 * PORT moved to a free port) and real stores, and the adapter's view is played: readiness path,
 * base-path stripping, a real request.
 */

t.teardown(closeTestDynamoDb);
const jwtSecret = 'image-contract-test-secret';
let outRoot: string;
t.before(async () => {
  outRoot = await mkdtemp(join(tmpdir(), 'cqrs-images-'));
  await Promise.all([buildService('command', outRoot), buildService('query', outRoot)]);
});
t.teardown(() => rm(outRoot, { recursive: true, force: true }));

const health: Record<Service, string> = { command: '/command/v1/healthcheck', query: '/query/healthcheck' };

function checkRules(t: Test, service: Service, file: Dockerfile) {
  t.ok(file.stages.length >= 1);
  for (const stage of file.stages) t.equal(stage.platform, 'linux/arm64', `${stage.image}: FROM --platform=linux/arm64`);
  const runtime = file.stages[file.stages.length - 1]!;
  t.match(runtime.image, /^public\.ecr\.aws\/docker\/library\/node:22(\.\d+){0,2}-[a-z]+-slim$|^public\.ecr\.aws\/docker\/library\/node:22(\.\d+){0,2}-slim$/, 'a Node 22 slim base from public.ecr.aws');
  t.notMatch(runtime.image, /lambda\/nodejs|public\.ecr\.aws\/lambda\//, 'not an AWS Lambda base image');
  const adapter = file.stages.find((s) => s.image.startsWith('public.ecr.aws/awsguru/aws-lambda-adapter:'));
  t.ok(adapter, 'the adapter comes from public.ecr.aws/awsguru/aws-lambda-adapter');
  t.match(adapter?.image, /:\d+\.\d+\.\d+$/, 'pinned to an exact version');
  t.ok(
    file.copies.some((c) => c.from === adapter?.name && c.sources[0] === '/lambda-adapter' && c.destination === '/opt/extensions/lambda-adapter'),
    'the adapter is copied into /opt/extensions/lambda-adapter',
  );
  const own = file.copies.filter((c) => c.from === undefined);
  t.same(own.map((c) => c.sources), [[`dist/${service}/`]], 'only the bundle is copied from the context');
  t.notOk(file.copies.some((c) => c.sources.some((s) => /node_modules/.test(s))), 'no node_modules');
  t.same(
    file.instructions.filter((i) => i.keyword === 'RUN'),
    [],
    'nothing is built or installed in the image (no toolchain, no native addon)',
  );
  t.ok(file.entrypoint && file.entrypoint[0] === 'node', 'an explicit exec-form ENTRYPOINT running node');
  t.ok(file.cmd, 'an explicit CMD (nothing inherited)');
  t.ok(file.user && !['root', '0'].includes(file.user), 'a non-root user');
  const port = Number(file.env.AWS_LWA_PORT);
  t.ok(port > 0 && ![3000, 9001].includes(port), `AWS_LWA_PORT ${port} is not a port Lambda reserves`);
  t.equal(file.env.PORT, file.env.AWS_LWA_PORT, 'the server listens where the adapter looks');
  t.equal(file.env.AWS_LWA_READINESS_CHECK_PATH, health[service], 'the readiness check is the health route');
  t.equal(file.env.AWS_LWA_ERROR_STATUS_CODES, undefined, 'error-status mapping is per function (the stack), not per image');
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Runs the image's command the way the container would, with the bundle in place of /app. */
async function runImage(t: Test, service: Service, file: Dockerfile, extraEnv: Record<string, string>) {
  const port = await freePort();
  const bundle = join(outRoot, service);
  const [command, ...args] = [...file.entrypoint!, ...file.cmd!].map((part) => part.replace(/^\/app\//, `${bundle}/`));
  t.equal(command, 'node');
  const child = spawn(process.execPath, args, {
    env: childEnv({ ...file.env, PORT: String(port), AWS_LWA_PORT: String(port), ...extraEnv }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.teardown(async () => {
    child.kill('SIGTERM');
    await exited;
  });
  const base = `http://127.0.0.1:${port}`;
  // The adapter: forward the API Gateway path with AWS_LWA_REMOVE_BASE_PATH stripped.
  const viaAdapter = (path: string, init?: RequestInit) => {
    const prefix = file.env.AWS_LWA_REMOVE_BASE_PATH ?? '';
    const forwarded = prefix && path.startsWith(`${prefix}/`) ? path.slice(prefix.length) : path;
    return fetch(`${base}${forwarded}`, init);
  };
  // The adapter polls the readiness path until it answers.
  let ready = false;
  for (let attempt = 0; attempt < 300 && !ready; attempt++) {
    ready = await fetch(`${base}${file.env.AWS_LWA_READINESS_CHECK_PATH}`)
      .then((r) => r.status === 200)
      .catch(() => false);
    if (!ready) await sleep(50);
  }
  t.ok(ready, `${service}: the readiness path answers 200`);
  return { base, viaAdapter, output: () => output };
}

t.test('Dockerfile.command', async (t) => {
  const file = await parseDockerfile('Dockerfile.command');
  checkRules(t, 'command', file);
  const { store, tableName, endpoint } = await freshEventStore();
  const image = await runImage(t, 'command', file, { EVENTS_TABLE: tableName, DYNAMODB_ENDPOINT: endpoint, JWT_SECRET: jwtSecret, AWS_REGION: 'eu-west-1' });
  const health = await image.viaAdapter('/Stage/command/v1/healthcheck');
  t.equal(await health.text(), 'Command Server Working!', 'routes match behind the /Stage base path');
  t.equal((await fetch(`${image.base}/Stage/command/v1/healthcheck`)).status, 404, 'unstripped, the stage would not match');
  const created = await image.viaAdapter('/Stage/command/v1/group-chats', {
    method: 'POST',
    headers: { authorization: `Bearer ${issueToken('alice', jwtSecret)}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'From the image' }),
  });
  t.equal(created.status, 201, image.output());
  const { groupChatId } = (await created.json()) as { groupChatId: string };
  t.equal((await store.readStream(groupChatStream(groupChatId))).length, 1, 'the commit is in the log');
  t.match(image.output(), /"msg":"listening"/, 'JSON logs');
});

t.test('Dockerfile.query', async (t) => {
  const file = await parseDockerfile('Dockerfile.query');
  checkRules(t, 'query', file);
  t.equal(file.env.AWS_LWA_PASS_THROUGH_PATH, '/events');
  const { store, tableName, endpoint } = await freshEventStore();
  const schema = `img_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const databaseUrl = process.env.DATABASE_URL ?? `postgres://postgres@127.0.0.1:${await freePort()}/nothing-listens-here`;
  const image = await runImage(t, 'query', file, {
    EVENTS_TABLE: tableName,
    DYNAMODB_ENDPOINT: endpoint,
    JWT_SECRET: jwtSecret,
    AWS_REGION: 'eu-west-1',
    DATABASE_URL: databaseUrl,
    DATABASE_SCHEMA: schema,
  });
  t.equal(await (await image.viaAdapter('/Stage/query/healthcheck')).text(), 'Query Running', 'ready without touching Postgres');

  const writer = await (await import('../testing/command-server.ts')).commandServer(store);
  const created = await writer.as('alice').createChat('Read by the image');
  const headers = { authorization: `Bearer ${issueToken('alice', jwtSecret)}` };
  if (!process.env.DATABASE_URL) {
    const response = await image.viaAdapter('/Stage/query/v1/group-chats', { headers });
    t.equal(response.status, 503, 'with Postgres unreachable a query answers 503');
    t.equal(response.headers.get('retry-after'), '1');
    t.comment('SKIP queries against real Postgres: DATABASE_URL is not set');
    return;
  }
  t.teardown(() => {
    spawnSync('psql', [process.env.DATABASE_URL!, '-qc', `drop schema if exists ${schema} cascade`]);
  });
  const listed = await image.viaAdapter('/Stage/query/v1/group-chats', {
    headers: { ...headers, 'x-consistency-token': encodeConsistencyToken({ streamId: groupChatStream(created.id), version: 1 }) },
  });
  t.equal(listed.status, 200, image.output());
  t.match(await listed.json(), { items: [{ groupChatId: created.id, name: 'Read by the image' }] });

  const posted = await writer.as('alice').post(created.id, 'delivered by the stream');
  const [commit] = await store.readStream(`Message-${posted.id}`);
  const invoked = await fetch(`${image.base}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(streamEvent([insertRecord(commit!)])) });
  t.same(await invoked.json(), { batchItemFailures: [] });
  const messages = await image.viaAdapter(`/Stage/query/v1/group-chats/${created.id}/messages`, { headers });
  t.match(await messages.json(), { items: [{ messageId: posted.id, text: 'delivered by the stream' }] });
});

t.test('a missing setting stops a service before it listens, naming the variable', async (t) => {
  for (const service of ['command', 'query'] as const) {
    const result = spawnSync(process.execPath, [join(outRoot, service, 'index.mjs')], {
      env: childEnv({ JWT_SECRET: jwtSecret }),
      encoding: 'utf8',
      timeout: 20_000,
    });
    t.equal(result.status, 1, service);
    t.match(result.stderr.trim(), /^configuration error: "EVENTS_TABLE" is required$/, service);
  }
  const noAuth = spawnSync(process.execPath, [join(outRoot, 'command', 'index.mjs')], {
    env: childEnv({ EVENTS_TABLE: 'events' }),
    encoding: 'utf8',
    timeout: 20_000,
  });
  t.equal(noAuth.status, 1);
  t.match(noAuth.stderr, /configuration error: set JWT_JWKS_URL \(or JWT_SECRET outside AWS\)/);
});
