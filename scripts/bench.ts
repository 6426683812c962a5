/**
 * `npm run bench [-- --smoke] [--out <dir>]`: measures every figure of SPEC §8 on this machine,
 * each against a baseline measured in the same run, and writes BENCHMARKS.md and
 * bench-results.json. Not a test: budgets are reported, not asserted. Stores are embedded
 * (dynalite in a child process, PGlite in process) unless DYNAMODB_ENDPOINT / DATABASE_URL are set.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BatchWriteItemCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { build } from 'esbuild';
import { v7 as uuidv7 } from 'uuid';
import type { GroupChatEvent, MessageEvent } from '../src/contracts/events.ts';
import { groupChatStream, messageStream } from '../src/contracts/streams.ts';
import type { Commit } from '../src/eventstore/index.ts';
import { DynamoDbEventStore, createDynamoDbClient, ensureEventsTable, toItem } from '../src/eventstore/index.ts';
import { commandModule } from '../src/modules/command/index.ts';
import { ProjectionFeed, Projector, migrate, openDatabase, queryModule, rebuildProjections } from '../src/modules/query/index.ts';
import type { ProjectionDatabase } from '../src/modules/query/index.ts';
import { authPlugin, issueToken } from '../src/shared/auth.ts';
import { createHttpServer } from '../src/shared/http-server.ts';
import { bundleOptions, buildBundle } from './build.ts';
import type { Service } from './build.ts';
import { parseDockerfile } from '../src/testing/dockerfile.ts';
import { median, percentiles, runLoad } from './bench/load.ts';
import type { LoadResult } from './bench/load.ts';

interface Sizes {
  readonly builds: number;
  readonly starts: number;
  readonly requests: number;
  readonly lagSamples: number;
  readonly rebuildEvents: number;
  readonly historyMembers: number;
  readonly historyChanges: number;
  readonly historyMessages: number;
}

const fullSizes: Sizes = {
  builds: 5,
  starts: 10,
  requests: 400,
  lagSamples: 100,
  rebuildEvents: 50_000,
  historyMembers: 100,
  historyChanges: 1_000,
  historyMessages: 10_000,
};
const smokeSizes: Sizes = {
  builds: 1,
  starts: 2,
  requests: 20,
  lagSamples: 5,
  rebuildEvents: 500,
  historyMembers: 10,
  historyChanges: 20,
  historyMessages: 50,
};

export interface Row {
  readonly figure: string;
  readonly ours: number;
  readonly baseline: number;
  readonly unit: string;
  /** ours / baseline */
  readonly ratio: number;
  readonly budget: string;
  readonly verdict: 'within' | 'over' | 'info';
  readonly note?: string;
}

const secret = 'bench-secret-of-enough-length';
const log = (message: string) => process.stderr.write(`${message}\n`);
const round = (value: number, digits = 1) => Number(value.toFixed(digits));

function row(figure: string, ours: number, baseline: number, unit: string, budget: string, within: boolean | undefined, note?: string): Row {
  return {
    figure,
    ours: round(ours, 2),
    baseline: round(baseline, 2),
    unit,
    ratio: round(ours / baseline, 2),
    budget,
    verdict: within === undefined ? 'info' : within ? 'within' : 'over',
    ...(note ? { note } : {}),
  };
}

// ---------------------------------------------------------------- bundles

async function buildBare(outdir: string) {
  const options = bundleOptions('command', outdir);
  const result = await build({ ...options, entryPoints: { index: 'scripts/bench/bare-hapi.ts' }, metafile: true });
  const output = Object.entries(result.metafile!.outputs).find(([name]) => name.endsWith('.mjs'))!;
  return { file: join(outdir, 'index.mjs'), bytes: output[1].bytes };
}

async function measureBuilds(sizes: Sizes, outRoot: string) {
  const ours: number[] = [];
  const bare: number[] = [];
  let bytes: Record<Service, number> = { command: 0, query: 0 };
  let bareBundle = { file: '', bytes: 0 };
  for (let run = 0; run < sizes.builds; run++) {
    let t0 = performance.now();
    const built = await Promise.all([buildBundle('command', outRoot), buildBundle('query', outRoot)]);
    ours.push(performance.now() - t0);
    bytes = { command: built[0].bytes, query: built[1].bytes };
    t0 = performance.now();
    bareBundle = await buildBare(join(outRoot, 'bare'));
    bare.push(performance.now() - t0);
  }
  return { ours: median(ours), bare: median(bare), bytes, bareBundle };
}

// ---------------------------------------------------------------- processes

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitFor200(url: string, deadlineMs = 20_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const ok = await fetch(url).then((r) => r.status === 200, () => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${url} never answered 200`);
    await sleep(2);
  }
}

function serviceEnv(port: number, endpoint: string, tableName = 'events', logLevel = 'warn'): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: logLevel,
    EVENTS_TABLE: tableName,
    DYNAMODB_ENDPOINT: endpoint,
    AWS_REGION: 'eu-west-1',
    JWT_SECRET: secret,
    // the health route never touches it: the query bundle starts without a database
    DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://bench@127.0.0.1:1/none',
  };
}

async function startProcess(file: string, healthPath: string, endpoint: string, args: readonly string[], tableName?: string) {
  const port = await freePort();
  const t0 = performance.now();
  const logLevel = tableName ? 'info' : 'warn';
  const child = spawn(process.execPath, [...args, file], { env: serviceEnv(port, endpoint, tableName, logLevel), stdio: ['ignore', 'pipe', 'ignore'] });
  // With info logs, hapi-pino reports each request's server-side time (responseTime).
  const serverTimes: number[] = [];
  let pending = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      const time = /"responseTime":([0-9.]+)/.exec(line)?.[1];
      if (time && line.includes('"method":"post"')) serverTimes.push(Number(time));
    }
  });
  await waitFor200(`http://127.0.0.1:${port}${healthPath}`);
  return { child, ms: performance.now() - t0, port, serverTimes };
}

/** The node flags an image starts its bundle with (ENTRYPOINT minus the bundle path). */
async function imageNodeFlags(service: Service): Promise<string[]> {
  const file = await parseDockerfile(`Dockerfile.${service}`);
  return [...(file.entrypoint ?? []), ...(file.cmd ?? [])].slice(1).filter((part) => !part.startsWith('/app/'));
}

async function stop(child: ChildProcess) {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

async function coldStarts(file: string, healthPath: string, endpoint: string, starts: number, args: readonly string[]) {
  const times: number[] = [];
  let rss = 0;
  for (let n = 0; n < starts; n++) {
    const { child, ms } = await startProcess(file, healthPath, endpoint, args);
    times.push(ms);
    if (n === starts - 1) {
      await sleep(1_000);
      rss = await rssMb(child.pid!);
    }
    await stop(child);
  }
  return { ...percentiles(times), rss };
}

async function startDynalite(): Promise<{ endpoint: string; child?: ChildProcess }> {
  if (process.env.DYNAMODB_ENDPOINT) return { endpoint: process.env.DYNAMODB_ENDPOINT };
  const child = spawn(
    process.execPath,
    ['-e', "const d=require('dynalite')({createTableMs:0});d.listen(0,'127.0.0.1',()=>console.log(d.address().port))"],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<string>((resolve) => child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())));
  return { endpoint: `http://127.0.0.1:${port}`, child };
}

// ---------------------------------------------------------------- the one-process app

async function startApp(client: DynamoDBClient, tableName: string, database: ProjectionDatabase) {
  const store = new DynamoDbEventStore({ client, tableName });
  const projector = new Projector(database.db, store);
  const feed = new ProjectionFeed(projector);
  const server = createHttpServer({ port: 0, host: '127.0.0.1' });
  await server.register([
    { plugin: authPlugin, options: { secret } },
    { plugin: commandModule, options: { eventStore: store, onAppended: (commit: Commit) => feed.deliver(commit) } },
    { plugin: queryModule, options: { db: database.db, projector } },
  ]);
  await server.start();
  const base = server.info.uri;
  const auth = { authorization: `Bearer ${issueToken('bench', secret)}`, 'content-type': 'application/json' };
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${base}${path}`, { method, headers: auth, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await response.text();
    if (response.status >= 400) throw new Error(`${method} ${path} → ${response.status} ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  return { store, projector, feed, server, call };
}

// ---------------------------------------------------------------- generated logs

const now = () => new Date().toISOString();

function commit(streamId: string, version: number, events: readonly (GroupChatEvent | MessageEvent)[], actorId = 'bench'): Commit {
  return { streamId, version, commandId: randomUUID(), actorId, occurredAt: now(), events };
}

async function writeCommits(client: DynamoDBClient, tableName: string, commits: readonly Commit[]) {
  for (let start = 0; start < commits.length; start += 25) {
    let items = commits.slice(start, start + 25).map((c) => ({ PutRequest: { Item: toItem(c) } }));
    for (let attempt = 0; items.length > 0 && attempt < 20; attempt++) {
      const result = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: items } }));
      items = (result.UnprocessedItems?.[tableName] ?? []) as typeof items;
    }
  }
}

/** A log of `events` events: chats with members, and messages in them. */
function generatedLog(events: number): Commit[] {
  const commits: Commit[] = [];
  let count = 0;
  while (count < events) {
    const chatId = uuidv7();
    const stream = groupChatStream(chatId);
    commits.push(
      commit(stream, 1, [
        { type: 'GroupChatCreated', data: { name: 'Generated', ownerId: 'bench' } },
        { type: 'MemberAdded', data: { userId: 'bench', role: 'admin' } },
      ]),
    );
    commits.push(commit(stream, 2, [{ type: 'MemberAdded', data: { userId: 'reader', role: 'member' } }]));
    count += 3;
    for (let m = 0; m < 47 && count < events; m++, count++) {
      commits.push(commit(messageStream(uuidv7()), 1, [{ type: 'MessagePosted', data: { groupChatId: chatId, authorId: 'bench', text: `message ${m}` } }]));
    }
  }
  return commits;
}

// ---------------------------------------------------------------- main

export async function runBench(options: { smoke?: boolean; out?: string } = {}) {
  const sizes = options.smoke ? smokeSizes : fullSizes;
  const out = resolve(options.out ?? '.');
  const work = await mkdtemp(join(tmpdir(), 'cqrs-bench-'));
  const rows: Row[] = [];
  const raw: Record<string, unknown> = { sizes };
  const stores = {
    dynamodb: process.env.DYNAMODB_ENDPOINT ? `external (${process.env.DYNAMODB_ENDPOINT})` : 'dynalite (embedded, in memory, own process)',
    postgres: process.env.DATABASE_URL ? 'real Postgres (DATABASE_URL)' : 'PGlite (embedded, in memory, in process)',
  };
  const dynamo = await startDynalite();
  const cleanup: (() => Promise<unknown>)[] = [async () => dynamo.child && stop(dynamo.child), () => rm(work, { recursive: true, force: true })];
  try {
    log('building bundles…');
    const builds = await measureBuilds(sizes, work);
    raw.build = builds;
    rows.push(row('build, both bundles (median)', builds.ours, builds.bare, 'ms', '≤ 5,000 ms', builds.ours <= 5_000, 'baseline: bundling the bare hapi server'));
    rows.push(row('bundle size, command', builds.bytes.command / 1024, builds.bareBundle.bytes / 1024, 'KB', '≤ 1,200 KB', builds.bytes.command <= 1_200_000));
    rows.push(row('bundle size, query', builds.bytes.query / 1024, builds.bareBundle.bytes / 1024, 'KB', '≤ 1,800 KB', builds.bytes.query <= 1_800_000));

    log('cold starts…');
    // Started as the images start them (same node flags, the bare server too).
    const flags = await imageNodeFlags('command');
    const bare = await coldStarts(builds.bareBundle.file, '/health', dynamo.endpoint, sizes.starts, flags);
    const command = await coldStarts(join(work, 'command', 'index.mjs'), '/command/v1/healthcheck', dynamo.endpoint, sizes.starts, flags);
    const query = await coldStarts(join(work, 'query', 'index.mjs'), '/query/healthcheck', dynamo.endpoint, sizes.starts, await imageNodeFlags('query'));
    raw.nodeFlags = flags;
    raw.coldStart = { bare, command, query };
    for (const [name, result] of [['command', command], ['query', query]] as const) {
      rows.push(row(`cold start, ${name} (median of ${sizes.starts})`, result.p50, bare.p50, 'ms', '≤ 1.8× bare', result.p50 / bare.p50 <= 1.8, `p90 ${round(result.p90)} ms vs ${round(bare.p90)} ms`));
    }
    for (const [name, result] of [['command', command], ['query', query]] as const) {
      rows.push(row(`idle RSS after start, ${name}`, result.rss, bare.rss, 'MB', '≤ 85 MB', result.rss <= 85));
    }

    log('one-process app…');
    const client = createDynamoDbClient({ endpoint: dynamo.endpoint });
    const tableName = `bench-${randomUUID()}`;
    await ensureEventsTable(client, tableName);
    const schema = `bench_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    const database = await openDatabase(process.env.DATABASE_URL ? { url: process.env.DATABASE_URL, schema } : { schema });
    await migrate(database.db, database.schema);
    cleanup.unshift(async () => {
      if (process.env.DATABASE_URL) {
        const { sql } = await import('kysely');
        for (const name of [schema, `${schema}_old`, `${schema}_rebuild`]) await sql`drop schema if exists ${sql.id(name)} cascade`.execute(database.db);
      }
      await database.close();
    });
    const app = await startApp(client, tableName, database);
    cleanup.unshift(() => app.server.stop());

    // Command latency against the raw DynamoDB calls the command makes in steady state: the
    // chat stream's newer commits (none), the new message stream (empty), one conditional put.
    const chat = (await app.call('POST', '/command/v1/group-chats', { name: 'Bench' })).groupChatId as string;
    await app.call('POST', `/command/v1/group-chats/${chat}/messages`, { text: 'warm-up' });
    const rawCommand = async () => {
      const messageId = uuidv7();
      await client.send(new QueryCommand({ TableName: tableName, KeyConditionExpression: 'streamId = :s AND version >= :v', ExpressionAttributeValues: { ':s': { S: groupChatStream(chat) }, ':v': { N: '2' } }, ConsistentRead: true }));
      await client.send(new QueryCommand({ TableName: tableName, KeyConditionExpression: 'streamId = :s AND version >= :v', ExpressionAttributeValues: { ':s': { S: messageStream(messageId) }, ':v': { N: '1' } }, ConsistentRead: true }));
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: toItem(commit(messageStream(messageId), 1, [{ type: 'MessagePosted', data: { groupChatId: chat, authorId: 'bench', text: 'raw' } }])),
          ConditionExpression: 'attribute_not_exists(#v)',
          ExpressionAttributeNames: { '#v': 'version' },
        }),
      );
    };
    // The command image's bundle in its own process, on the same table: what the budget is about
    // (the one-process app would also run the projector on every command's heels).
    const commandProcess = await startProcess(join(work, 'command', 'index.mjs'), '/command/v1/healthcheck', dynamo.endpoint, flags, tableName);
    cleanup.unshift(() => stop(commandProcess.child));
    const postViaBundle = async () => {
      const response = await fetch(`http://127.0.0.1:${commandProcess.port}/command/v1/group-chats/${chat}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${issueToken('bench', secret)}`, 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'bench' }),
      });
      if (response.status !== 201) throw new Error(`post message → ${response.status} ${await response.text()}`);
      await response.arrayBuffer().catch(() => undefined);
    };
    await postViaBundle();
    const commandResults: Record<string, { ours: LoadResult; raw: LoadResult; server: ReturnType<typeof percentiles> }> = {};
    for (const concurrency of [1, 16]) {
      const before = commandProcess.serverTimes.length;
      const ours = await runLoad(postViaBundle, sizes.requests, concurrency);
      await sleep(100);
      const server = percentiles(commandProcess.serverTimes.slice(before + Math.min(50, sizes.requests)));
      const rawResult = await runLoad(rawCommand, sizes.requests, concurrency);
      commandResults[concurrency] = { ours, raw: rawResult, server };
      rows.push(row(`command latency inside the server (hapi responseTime), concurrency ${concurrency} (median)`, server.p50, rawResult.p50, 'ms', '≤ 1.5× raw', server.p50 / rawResult.p50 <= 1.5, 'the same requests, without the client\'s HTTP round trip'));
      rows.push(row(`command latency, post message, command bundle, concurrency ${concurrency} (median)`, ours.p50, rawResult.p50, 'ms', '≤ 1.5× raw', ours.p50 / rawResult.p50 <= 1.5, `${round(ours.throughput)} vs ${round(rawResult.throughput)} per s; p99 ${round(ours.p99)} vs ${round(rawResult.p99)} ms`));
    }
    raw.command = commandResults;

    // Query latency against the SQL the query runs: membership check, then one page.
    await sleep(200);
    const rawQuery = async () => {
      await database.db.selectFrom('members as m').innerJoin('group_chats as g', 'g.group_chat_id', 'm.group_chat_id').select('m.user_id').where('m.group_chat_id', '=', chat).where('m.user_id', '=', 'bench').where('g.deleted', '=', false).executeTakeFirst();
      await database.db.selectFrom('messages').selectAll().where('group_chat_id', '=', chat).orderBy('posted_at', 'desc').orderBy('message_id', 'desc').limit(51).execute();
    };
    const queryResults: Record<string, { ours: LoadResult; raw: LoadResult }> = {};
    for (const concurrency of [1, 16]) {
      const ours = await runLoad(() => app.call('GET', `/query/v1/group-chats/${chat}/messages?limit=50`), sizes.requests, concurrency);
      const rawResult = await runLoad(rawQuery, sizes.requests, concurrency);
      queryResults[concurrency] = { ours, raw: rawResult };
      rows.push(row(`query latency, 50 messages, concurrency ${concurrency} (median)`, ours.p50, rawResult.p50, 'ms', 'info', undefined, `${round(ours.throughput)} vs ${round(rawResult.throughput)} per s`));
    }
    raw.query = queryResults;

    // Projection lag: command answered → a query without a token sees the message.
    log('projection lag…');
    const lags: number[] = [];
    const applies: number[] = [];
    for (let n = 0; n < sizes.lagSamples; n++) {
      const posted = await app.call('POST', `/command/v1/group-chats/${chat}/messages`, { text: `lag ${n}` });
      const t0 = performance.now();
      for (;;) {
        const page = await app.call('GET', `/query/v1/group-chats/${chat}/messages?limit=1`);
        if ((page.items as { messageId: string }[])[0]?.messageId === posted.messageId) break;
      }
      lags.push(performance.now() - t0);
    }
    const probeChat = uuidv7();
    for (let n = 0; n < sizes.lagSamples; n++) {
      const c = commit(messageStream(uuidv7()), 1, [{ type: 'MessagePosted', data: { groupChatId: probeChat, authorId: 'bench', text: 'probe' } }]);
      const t0 = performance.now();
      await app.projector.apply(c);
      applies.push(performance.now() - t0);
    }
    const lag = percentiles(lags);
    const apply = percentiles(applies);
    raw.lag = { lag, apply };
    rows.push(row('projection lag, one process (p99)', lag.p99, apply.p99, 'ms', '≤ 50 ms', lag.p99 <= 50, `p50 ${round(lag.p50)} ms; baseline: applying one commit directly`));

    // A chat with a long history against a new chat.
    log('long history…');
    const history = await longHistory(client, tableName, sizes);
    const fresh = (await app.call('POST', '/command/v1/group-chats', { name: 'New' })).groupChatId as string;
    const first = performance.now();
    await app.call('POST', `/command/v1/group-chats/${history}/messages`, { text: 'first after a restart' });
    const firstMs = performance.now() - first;
    const long = await runLoad(() => app.call('POST', `/command/v1/group-chats/${history}/messages`, { text: 'x' }), sizes.requests, 1);
    const young = await runLoad(() => app.call('POST', `/command/v1/group-chats/${fresh}/messages`, { text: 'x' }), sizes.requests, 1);
    raw.longHistory = { firstMs, long, young };
    rows.push(row(`post message, chat with ${sizes.historyMessages} messages, ${sizes.historyMembers} members, ${sizes.historyChanges} membership changes (median)`, long.p50, young.p50, 'ms', '≈ 1× a new chat', long.p50 / young.p50 <= 1.2, `first command on it (cold cache): ${round(firstMs)} ms`));

    // Rebuild throughput.
    log(`rebuild of ${sizes.rebuildEvents} events…`);
    const rebuildTable = `bench-rebuild-${randomUUID()}`;
    await ensureEventsTable(client, rebuildTable);
    const generated = generatedLog(sizes.rebuildEvents);
    await writeCommits(client, rebuildTable, generated);
    const events = generated.reduce((sum, c) => sum + c.events.length, 0);
    const t0 = performance.now();
    const result = await rebuildProjections(database, new DynamoDbEventStore({ client, tableName: rebuildTable }));
    const rebuildSeconds = (performance.now() - t0) / 1000;
    // Baseline: inserting the same message rows with multi-row INSERTs, nothing else.
    const baselineSchema = database.inSchema(`${schema}_rebuild`);
    const { sql } = await import('kysely');
    await sql`create schema if not exists ${sql.id(`${schema}_rebuild`)}`.execute(database.db);
    await migrate(baselineSchema, `${schema}_rebuild`);
    const rowsToInsert = generated.flatMap((c) =>
      c.events.filter((e) => e.type === 'MessagePosted').map((e) => ({ message_id: c.streamId.slice(8), group_chat_id: (e.data as { groupChatId: string }).groupChatId, author_id: 'bench', text: (e.data as { text: string }).text, posted_at: new Date(c.occurredAt), edited_at: null })),
    );
    const b0 = performance.now();
    for (let start = 0; start < rowsToInsert.length; start += 1_000) await baselineSchema.insertInto('messages').values(rowsToInsert.slice(start, start + 1_000)).execute();
    const baselineSeconds = (performance.now() - b0) / 1000;
    raw.rebuild = { events, commits: result.commits, seconds: rebuildSeconds, baselineRows: rowsToInsert.length, baselineSeconds };
    const rate = events / rebuildSeconds;
    rows.push(row(`rebuild, ${events} events into ${database.kind === 'postgres' ? 'Postgres' : 'PGlite'} (events/s)`, rate, rowsToInsert.length / baselineSeconds, 'events/s', '≥ 5,000 events/s', rate >= 5_000, 'baseline: bulk INSERT of the message rows alone'));
  } finally {
    for (const step of cleanup) await step().catch(() => undefined);
  }

  const report = { generatedAt: new Date().toISOString(), machine: { cpus: cpus().length, node: process.version }, stores, smoke: Boolean(options.smoke), rows, raw };
  await writeFile(join(out, 'bench-results.json'), `${JSON.stringify(report, null, 2)}\n`);
  // Hand-written analysis below the marker survives a new run.
  const previous = await readFile(join(out, 'BENCHMARKS.md'), 'utf8').catch(() => '');
  const marker = previous.indexOf(notesMarker);
  await writeFile(join(out, 'BENCHMARKS.md'), markdown(report) + (marker >= 0 ? `\n${previous.slice(marker)}` : ''));
  return report;
}

async function longHistory(client: DynamoDBClient, tableName: string, sizes: Sizes): Promise<string> {
  const chatId = uuidv7();
  const stream = groupChatStream(chatId);
  const commits: Commit[] = [
    commit(stream, 1, [
      { type: 'GroupChatCreated', data: { name: 'Long history', ownerId: 'bench' } },
      { type: 'MemberAdded', data: { userId: 'bench', role: 'admin' } },
    ]),
  ];
  for (let n = 1; n < sizes.historyMembers; n++) commits.push(commit(stream, commits.length + 1, [{ type: 'MemberAdded', data: { userId: `member${n}`, role: 'member' } }]));
  for (let n = 0; n < sizes.historyChanges; n++) {
    const userId = `member${1 + (n % (sizes.historyMembers - 1))}`;
    commits.push(commit(stream, commits.length + 1, [{ type: 'MemberRoleChanged', data: { userId, role: n % 2 === 0 ? 'admin' : 'member' } }]));
  }
  for (let n = 0; n < sizes.historyMessages; n++) {
    commits.push(commit(messageStream(uuidv7()), 1, [{ type: 'MessagePosted', data: { groupChatId: chatId, authorId: 'bench', text: `history ${n}` } }]));
  }
  await writeCommits(client, tableName, commits);
  return chatId;
}

const notesMarker = '<!-- analysis: kept across runs -->';

function markdown(report: { generatedAt: string; machine: { cpus: number; node: string }; stores: Record<string, string>; smoke: boolean; rows: Row[] }): string {
  const lines = [
    '# Benchmarks',
    '',
    'Reproduce with one command: `npm run bench` (about 2 minutes; `DATABASE_URL` / `DYNAMODB_ENDPOINT` switch to real stores).',
    '',
    `Measured by \`npm run bench\` on ${report.generatedAt.slice(0, 10)}: ${report.machine.cpus} cores, Node ${report.machine.node}${report.smoke ? ' (smoke run: tiny sizes, not meaningful)' : ''}.`,
    `Event log: ${report.stores.dynamodb}. Projections: ${report.stores.postgres}.`,
    'Every figure is measured against a baseline in the same run; raw numbers are in `bench-results.json`.',
    '',
    '| figure | ours | baseline | ratio | budget | verdict | notes |',
    '|---|---:|---:|---:|---|---|---|',
    ...report.rows.map((r) => `| ${r.figure} | ${r.ours} ${r.unit} | ${r.baseline} ${r.unit} | ${r.ratio}× | ${r.budget} | ${r.verdict} | ${r.note ?? ''} |`),
    '',
  ];
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const outIndex = args.indexOf('--out');
  runBench({ smoke: args.includes('--smoke'), ...(outIndex >= 0 ? { out: args[outIndex + 1]! } : {}) })
    .then((report) => {
      for (const r of report.rows) log(`${r.verdict.padEnd(6)} ${r.figure}: ${r.ours} ${r.unit} (baseline ${r.baseline}, ${r.ratio}×)`);
      process.exit(0);
    })
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
