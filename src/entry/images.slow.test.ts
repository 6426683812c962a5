import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { ServerResponse } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import type { Test } from 'tap';
import { buildBundle } from '../../scripts/build.ts';
import { prepareCompileCache } from './launch.ts';
import type { Bundle, Service } from '../../scripts/build.ts';
import { encodeConsistencyToken } from '../contracts/consistency-token.ts';
import { groupChatStream } from '../contracts/streams.ts';
import { issueToken } from '../shared/auth.ts';
import { childEnv } from '../testing/child-env.ts';
import { runToEnd } from '../testing/run-to-end.ts';
import { parseDockerfile } from '../testing/dockerfile.ts';
import type { Dockerfile } from '../testing/dockerfile.ts';
import { postgresTlsProxy, testCa } from '../testing/postgres-tls.ts';
import { fakeSecretsManager } from '../testing/secrets-manager.ts';
import { insertRecord, streamEvent } from '../testing/stream-events.ts';
import { closeTestDynamoDb, freshEventStore } from '../testing/stores.ts';

/**
 * The image contract (ARCHITECTURE.md, two services in AWS) without a Docker engine: each
 * Dockerfile is read and checked against the rules that broke the predecessor's images, then its
 * ENTRYPOINT + CMD is run against the freshly built bundles with the Dockerfile's ENV (the image's
 * /app mapped to the build folder, PORT moved to a free port) and real stores, and the adapter's
 * view is played: readiness path, base-path stripping, a real request. The projector function runs
 * the query image with the CMD and environment its stack sets.
 */

t.teardown(closeTestDynamoDb);
const jwtSecret = 'image-contract-test-secret';
let outRoot: string;
t.before(async () => {
  outRoot = await mkdtemp(join(tmpdir(), 'cqrs-images-'));
  await Promise.all((['command', 'query', 'projector'] as const).map((bundle) => buildBundle(bundle, outRoot)));
});

t.test('each image\'s build-time RUN loads its bundles with node and starts nothing', async (t) => {
  for (const dockerfile of ['Dockerfile.command', 'Dockerfile.query']) {
    const file = await parseDockerfile(dockerfile);
    for (const [command, ...args] of file.runs) {
      t.equal(command, 'node', `${dockerfile}: RUN ${args.join(' ')}`);
      // As the image build runs it: no service settings at all, so a start would fail loudly.
      const result = await runToEnd(process.execPath, args.map((arg) => arg.replace(/^\/app\//, `${outRoot}/`)), { env: isolatedEnv(file.env) });
      t.equal(result.status, 0, `${dockerfile}: it succeeds`, { output: result.stdout + result.stderr });
      t.equal(result.stdout + result.stderr, '', `${dockerfile}: and says nothing (no config read, no server)`);
    }
  }
});
t.teardown(() => rm(outRoot, { recursive: true, force: true }));

const images: Record<Service, { bundles: Bundle[]; health: string }> = {
  command: { bundles: ['command'], health: '/command/v1/healthcheck' },
  query: { bundles: ['query', 'projector'], health: '/query/healthcheck' },
};

/** What the query stack sets on the projector function (same image). */
const projectorFunction = {
  cmd: ['/app/projector/index.mjs'],
  env: { AWS_LWA_READINESS_CHECK_PATH: '/projector/healthcheck', AWS_LWA_ERROR_STATUS_CODES: '201-599' },
};

function checkRules(t: Test, service: Service, file: Dockerfile) {
  t.ok(file.stages.length >= 1);
  // The pipelines pass the pull-through cache of the same registry (DEPLOY.md, "What a pipeline run does").
  t.same(file.args, { BASE_REGISTRY: 'public.ecr.aws' }, 'base images from public.ecr.aws unless BASE_REGISTRY says where else to find the same images');
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
  t.same(
    own.map((c) => [c.sources, c.destination]),
    images[service].bundles.map((bundle) => [[`dist/${bundle}/`], `/app/${bundle}/`]),
    'only the bundles are copied from the context, each into /app/<bundle>/',
  );
  t.notOk(file.copies.some((c) => c.sources.some((s) => /node_modules/.test(s))), 'no node_modules');
  t.same(
    file.runs,
    images[service].bundles.map((bundle) => ['node', `/app/${bundle}/index.mjs`, prepareCompileCache]),
    'the only RUNs are the image\'s own node filling each bundle\'s compile cache (nothing built or installed)',
  );
  t.same(file.entrypoint, ['node'], 'an explicit exec-form ENTRYPOINT: node (nothing inherited)');
  t.same(file.cmd, [`/app/${service}/index.mjs`], 'an explicit CMD: the default function');
  t.ok(file.user && !['root', '0'].includes(file.user), 'a non-root user');
  const port = Number(file.env.AWS_LWA_PORT);
  t.ok(port > 0 && ![3000, 9001].includes(port), `AWS_LWA_PORT ${port} is not a port Lambda reserves`);
  t.equal(file.env.PORT, file.env.AWS_LWA_PORT, 'the server listens where the adapter looks');
  t.equal(file.env.AWS_LWA_READINESS_CHECK_PATH, images[service].health, 'the readiness check is the health route');
  t.equal(file.env.AWS_LWA_ERROR_STATUS_CODES, undefined, 'error-status mapping is per function (the stack), not per image');
}

/** The parent's environment without any service setting of its own (a test's DATABASE_URL, say), plus `extra`. */
function isolatedEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = childEnv();
  for (const key of Object.keys(env)) if (/^(DATABASE_|JWT_|EVENTS_TABLE$|DYNAMODB_ENDPOINT$|AWS_LWA_|PORT$)/.test(key)) delete env[key];
  return { ...env, ...extra };
}

async function freePort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Runs the image's command the way the container would (ENTRYPOINT + CMD, or the function's
 * CMD override), with /app/ mapped to the build folder, and waits like the adapter for the
 * readiness path (generously: the machine may be loaded).
 */
async function runImage(t: Test, file: Dockerfile, extraEnv: Record<string, string>, cmd: readonly string[] = file.cmd ?? []) {
  const port = await freePort();
  const [command, ...args] = [...file.entrypoint!, ...cmd].map((part) => part.replace(/^\/app\//, `${outRoot}/`));
  t.equal(command, 'node');
  const env: Record<string, string> = { ...file.env, PORT: String(port), AWS_LWA_PORT: String(port), ...extraEnv };
  const child = spawn(process.execPath, args, { env: isolatedEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
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
    const prefix = env.AWS_LWA_REMOVE_BASE_PATH ?? '';
    const forwarded = prefix && path.startsWith(`${prefix}/`) ? path.slice(prefix.length) : path;
    return fetch(`${base}${forwarded}`, init);
  };
  // Like the adapter: ask the readiness path until it answers 200, for as long as the process lives.
  let ready = false;
  while (!ready && child.exitCode === null) {
    ready = await fetch(`${base}${env.AWS_LWA_READINESS_CHECK_PATH}`)
      .then((r) => r.status === 200)
      .catch(() => false);
    if (!ready) await sleep(50);
  }
  t.ok(ready, `the readiness path ${env.AWS_LWA_READINESS_CHECK_PATH} answers 200`, { output });
  return { base, viaAdapter, output: () => output, exited };
}

/** Waits for a child's log line (its output may trail the answer it gave), or for its end. */
async function logged(image: { output: () => string; exited: Promise<unknown> }, pattern: RegExp): Promise<string> {
  let ended = false;
  void image.exited.then(() => (ended = true));
  while (!pattern.test(image.output()) && !ended) await sleep(50);
  return image.output();
}

/** The adapter's pass-through: the raw stream event posted to AWS_LWA_PASS_THROUGH_PATH. */
const invoke = (base: string, body: string, path = '/events') =>
  fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

t.test('Dockerfile.command', async (t) => {
  const file = await parseDockerfile('Dockerfile.command');
  checkRules(t, 'command', file);
  const { store, tableName, endpoint } = await freshEventStore();
  const image = await runImage(t, file, { EVENTS_TABLE: tableName, DYNAMODB_ENDPOINT: endpoint, JWT_SECRET: jwtSecret, AWS_REGION: 'eu-west-1' });
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

t.test('the identity provider is no start-up dependency of the command image', async (t) => {
  const file = await parseDockerfile('Dockerfile.command');
  const { tableName, endpoint } = await freshEventStore();
  // A JWKS URL that refuses connections, and one that accepts and never answers.
  const refusing = `http://127.0.0.1:${await freePort()}/jwks.json`;
  const held: ServerResponse[] = [];
  const hanging = createServer((_request, response) => void held.push(response));
  await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    hanging.closeAllConnections();
    return new Promise((resolve) => hanging.close(resolve));
  });
  const hangingUrl = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/jwks.json`;
  for (const [name, url] of [
    ['refusing', refusing],
    ['hanging', hangingUrl],
  ] as const) {
    const image = await runImage(t, file, {
      EVENTS_TABLE: tableName,
      DYNAMODB_ENDPOINT: endpoint,
      AWS_REGION: 'eu-west-1',
      JWT_JWKS_URL: url,
      JWT_ISSUER: 'https://idp.example',
      JWT_AUDIENCE: 'chat-api',
    });
    t.equal(image.output().includes('"level":60'), false, `${name}: no fatal error`);
    const response = await image.viaAdapter('/Stage/command/v1/group-chats', {
      method: 'POST',
      headers: { authorization: `Bearer ${issueToken('alice', jwtSecret)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x' }),
    });
    t.equal(response.status, 401, `${name}: an HS256 token is refused before any key is needed`);
    const rs256 = `${Buffer.from('{"alg":"RS256","kid":"k1"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'alice', exp: 9_999_999_999 })).toString('base64url')}.c2ln`;
    const unverifiable = await image.viaAdapter('/Stage/command/v1/group-chats', {
      method: 'POST',
      headers: { authorization: `Bearer ${rs256}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x' }),
    });
    t.equal(unverifiable.status, 503, `${name}: a token that cannot be checked now is 503`);
    t.ok(unverifiable.headers.get('retry-after'), `${name}: with Retry-After`);
    t.equal((await image.viaAdapter('/Stage/command/v1/healthcheck')).status, 200, `${name}: still healthy`);
  }
});

t.test('Dockerfile.query: the query API function', async (t) => {
  const file = await parseDockerfile('Dockerfile.query');
  checkRules(t, 'query', file);
  t.equal(file.env.AWS_LWA_PASS_THROUGH_PATH, '/events', 'the pass-through path the projector function uses');
  const { store, tableName, endpoint } = await freshEventStore();
  const schema = `img_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const databaseUrl = process.env.DATABASE_URL ?? `postgres://postgres@127.0.0.1:${await freePort()}/nothing-listens-here`;
  const image = await runImage(t, file, {
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
  const [commit] = await store.readStream(groupChatStream(created.id));
  const forged = JSON.stringify(streamEvent([insertRecord(commit!)], tableName));
  for (const path of ['/events', '/query/v1/../../events', '/query/v1/%2e%2e/%2e%2e/events', '/query/healthcheck/../../events', '/Stage/events']) {
    const response = await image.viaAdapter(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: forged });
    t.equal(response.status, 404, `POST ${path} reaches nothing: the query API mounts no /events`);
  }

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
});

t.test('Dockerfile.query: the projector function (CMD and environment set by its stack)', async (t) => {
  const file = await parseDockerfile('Dockerfile.query');
  const { store, tableName, endpoint } = await freshEventStore();
  const schema = `img_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const databaseUrl = process.env.DATABASE_URL ?? `postgres://postgres@127.0.0.1:${await freePort()}/nothing-listens-here`;
  // No JWT settings at all: the projector has no user auth.
  const image = await runImage(
    t,
    file,
    { ...projectorFunction.env, EVENTS_TABLE: tableName, DYNAMODB_ENDPOINT: endpoint, AWS_REGION: 'eu-west-1', DATABASE_URL: databaseUrl, DATABASE_SCHEMA: schema },
    projectorFunction.cmd,
  );
  t.equal(await (await image.viaAdapter('/Stage/projector/healthcheck')).text(), 'Projector Running', 'ready without touching Postgres');
  t.equal((await fetch(`${image.base}/query/v1/group-chats`)).status, 404, 'no query routes');
  t.equal((await fetch(`${image.base}/query/healthcheck`)).status, 404, 'no query health route');

  // Everything but a 200 fails the invocation under AWS_LWA_ERROR_STATUS_CODES=201-599.
  const status = (response: Response) => response.status;
  t.equal(status(await invoke(image.base, '{"Records": [')), 400, 'a body that is not JSON is not a 200');
  t.equal(status(await invoke(image.base, '{"hello":"world"}')), 400, 'a body without Records is not a 200');
  t.equal(status(await invoke(image.base, JSON.stringify({ Records: [], padding: 'x'.repeat(7 * 1024 * 1024) }))), 413, 'a body over the limit is not a 200');
  t.equal(status(await invoke(image.base, JSON.stringify({ Records: [{ eventName: 'INSERT' }] }))), 400, 'a record without a sequence number is not a 200');

  const writer = await (await import('../testing/command-server.ts')).commandServer(store);
  const created = await writer.as('alice').createChat('Projected by the image');
  const [commit] = await store.readStream(groupChatStream(created.id));
  if (!process.env.DATABASE_URL) {
    const response = await invoke(image.base, JSON.stringify(streamEvent([insertRecord(commit!)], tableName)));
    t.equal(response.status, 503, 'with Postgres unreachable the invocation fails (503), to be retried');
    t.comment('SKIP projecting into real Postgres: DATABASE_URL is not set');
    return;
  }
  t.teardown(() => {
    spawnSync('psql', [process.env.DATABASE_URL!, '-qc', `drop schema if exists ${schema} cascade`]);
  });
  const invoked = await invoke(image.base, JSON.stringify(streamEvent([insertRecord(commit!)], tableName)));
  t.equal(invoked.status, 200);
  t.same(await invoked.json(), { batchItemFailures: [] });
  t.match(await logged(image, /"msg":"stream batch"/), /"msg":"stream batch","records":1,"applied":1,/, 'the batch is logged by record outcome');
});

const noPostgres = process.env.DATABASE_URL ? false : 'real Postgres: DATABASE_URL is not set';

t.test('the projector function reads its database credentials from Secrets Manager at run time, over verified TLS', { skip: noPostgres }, async (t) => {
  const target = new URL(process.env.DATABASE_URL!);
  const proxy = await postgresTlsProxy(t, { host: target.hostname, port: Number(target.port || 5432) });
  const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:projections-AbCdEf';
  // The RDS JSON format, with a password a URL could not hold unescaped.
  const secret = { engine: 'postgres', host: 'localhost', port: proxy.port, username: target.username || 'postgres', password: 'p^a@s/s%w#o?r d', dbname: target.pathname.slice(1), dbClusterIdentifier: 'x' };
  const secrets = await fakeSecretsManager(t, new Map([[arn, JSON.stringify(secret)]]));
  const file = await parseDockerfile('Dockerfile.query');
  const { store, tableName, endpoint } = await freshEventStore();
  const schema = `img_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  t.teardown(() => {
    spawnSync('psql', [process.env.DATABASE_URL!, '-qc', `drop schema if exists ${schema} cascade`]);
  });
  const env = {
    ...projectorFunction.env,
    EVENTS_TABLE: tableName,
    DYNAMODB_ENDPOINT: endpoint,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    DATABASE_SECRET_ARN: arn,
    DATABASE_SCHEMA: schema,
    // The test CA stands in for the region's RDS CA (the local Postgres has no RDS certificate).
    DATABASE_CA_CERTS: testCa,
  };
  const image = await runImage(t, file, env, projectorFunction.cmd);
  t.equal(secrets.state.reads, 0, 'nothing is read before a request needs the database');
  t.notMatch(image.output(), /p\^a@s/, 'the password is not in the output');
  const writer = await (await import('../testing/command-server.ts')).commandServer(store);
  const created = await writer.as('alice').createChat('Through the secret');
  const [commit] = await store.readStream(groupChatStream(created.id));
  const invoked = await invoke(image.base, JSON.stringify(streamEvent([insertRecord(commit!)], tableName)));
  t.equal(invoked.status, 200, image.output());
  t.same(await invoked.json(), { batchItemFailures: [] });
  t.equal(secrets.state.reads, 1, 'the secret was read once');
  t.match(await logged(image, /"msg":"stream batch"/), /"msg":"stream batch","records":1,"applied":1,/, 'the commit was applied');
  t.ok(proxy.connections() >= 1, 'over TLS, verified against the given CA');
  t.equal((await fetch(`${image.base}/projector/healthcheck?deep=true`)).status, 200, 'deep health reaches Postgres');

  // Without the CA that signed the server's certificate, nothing connects (RDS CAs only).
  const { DATABASE_CA_CERTS: _ignored, ...untrusting } = env;
  const strict = await runImage(t, file, { ...untrusting, DATABASE_SCHEMA: `${schema}_x` }, projectorFunction.cmd);
  const refused = await invoke(strict.base, JSON.stringify(streamEvent([insertRecord(commit!)], tableName)));
  t.equal(refused.status, 503, 'an untrusted certificate fails the invocation');
  t.notMatch(strict.output(), /p\^a@s/, 'and the password is in no log line');
});

t.test('a missing or malformed setting stops a function before it listens, in one line naming it', async (t) => {
  const run = (bundle: Bundle, env: Record<string, string>) =>
    runToEnd(process.execPath, [join(outRoot, bundle, 'index.mjs')], { env: isolatedEnv(env) });
  for (const bundle of ['command', 'query', 'projector'] as const) {
    const result = await run(bundle, { JWT_SECRET: jwtSecret, DATABASE_URL: 'postgres://u@h/db' });
    t.equal(result.status, 1, bundle);
    t.match(result.stderr.trim(), /^configuration error: "EVENTS_TABLE" is required$/, bundle);
  }
  const cases: [Bundle, Record<string, string>, RegExp][] = [
    ['command', {}, /^configuration error: set JWT_JWKS_URL \(or JWT_SECRET outside AWS\)$/],
    ['command', { JWT_JWKS_URL: 'https://idp.example/jwks.json' }, /^configuration error: set JWT_JWKS_URL, JWT_ISSUER and JWT_AUDIENCE together$/],
    ['query', { JWT_SECRET: jwtSecret }, /^configuration error: set DATABASE_SECRET_ARN \(or DATABASE_URL outside AWS\)$/],
    ['projector', {}, /^configuration error: set DATABASE_SECRET_ARN \(or DATABASE_URL outside AWS\)$/],
    ['projector', { DATABASE_URL: 'postgres://u:x@h/db', DATABASE_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf' }, /^configuration error: set either DATABASE_SECRET_ARN or DATABASE_URL, not both$/],
    ['projector', { DATABASE_URL: 'postgres://u:hunter^2@h/db' }, /^configuration error: "DATABASE_URL" has characters in its user or password that must be percent-encoded \(encodeURIComponent\)$/],
    ['projector', { DATABASE_SECRET_ARN: 'projections' }, /^configuration error: "DATABASE_SECRET_ARN" .*Secrets Manager secret ARN/],
  ];
  for (const [bundle, env, message] of cases) {
    const result = await run(bundle, { EVENTS_TABLE: 'events', ...env });
    t.equal(result.status, 1, `${bundle}: ${JSON.stringify(env)}`);
    t.match(result.stderr.trim(), message);
    t.notMatch(result.stderr, /hunter/, 'a password is never repeated');
  }
});
