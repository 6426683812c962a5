/**
 * docs/budgets.md figures measured against the stores directly: command latency (the command bundle
 * in its own process against the raw DynamoDB calls it makes), query latency (the query module
 * against the SQL it runs), a chat with a long history, and the rebuild's throughput.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { GroupChatEvent, MessageEvent } from '../../src/contracts/events.ts';
import { groupChatStream, messageStream } from '../../src/contracts/streams.ts';
import type { Commit } from '../../src/eventstore/index.ts';
import { toItem } from '../../src/eventstore/index.ts';
import { DynamoDbEventStore } from '../../src/eventstore/dynamodb-event-store.ts';
import { commandModule } from '../../src/modules/command/index.ts';
import { Projector, migrate, newRow, rebuildProjections, tables } from '../../src/modules/projection/index.ts';
import { queryModule } from '../../src/modules/query/index.ts';
import type { ProjectionDatabase } from '../../src/modules/projection/index.ts';
import { authPlugin, issueToken } from '../../src/shared/auth.ts';
import { createHttpServer } from '../../src/shared/http-server.ts';
import type { BenchContext } from './context.ts';
import { functionEnv, writeCommits } from './context.ts';
import { runLoad, spread } from './load.ts';
import { cleanEnv, freePort, spawnProcess, stop, waitFor200 } from './processes.ts';
import { measured, round } from './report.ts';
import type { Row } from './report.ts';
import { launchOf } from './starts.ts';

const now = () => new Date().toISOString();

function commit(streamId: string, version: number, events: readonly (GroupChatEvent | MessageEvent)[], actorId = 'bench'): Commit {
  return { streamId, version, commandId: randomUUID(), actorId, occurredAt: now(), events };
}

const chatCreated = (chatId: string, name: string) =>
  commit(groupChatStream(chatId), 1, [
    { type: 'GroupChatCreated', data: { name, ownerId: 'bench' } },
    { type: 'MemberAdded', data: { userId: 'bench', role: 'admin' } },
  ]);

/** Both modules in one hapi server in this process, on the given table and read model (no delivery: the tests seed the read model). */
async function startApp(context: BenchContext, tableName: string, database: ProjectionDatabase) {
  const store = new DynamoDbEventStore({ client: context.dynamo.client, tableName });
  const projector = new Projector(database.db, store);
  const server = createHttpServer({ port: 0, host: '127.0.0.1' });
  await server.register([
    { plugin: authPlugin, options: { secret: context.secret } },
    { plugin: commandModule, options: { eventStore: store } },
    { plugin: queryModule, options: { db: database.db, projector } },
  ]);
  await server.start();
  context.defer(() => server.stop());
  const base = server.info.uri;
  const headers = { authorization: `Bearer ${issueToken('bench', context.secret)}`, 'content-type': 'application/json' };
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await response.text();
    if (response.status >= 400) throw new Error(`${method} ${path} → ${response.status} ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  return { store, projector, call };
}

/** The command bundle in its own process (started as its image starts it) against the raw calls it makes. */
export async function commandLatency(context: BenchContext): Promise<Row[]> {
  const tableName = await context.freshTable('bench-command');
  const chat = uuidv7();
  await writeCommits(context.dynamo.client, tableName, [chatCreated(chat, 'Bench')]);
  const { client } = context.dynamo;
  // Steady state of a post: the chat's newer commits (none: its state is cached), the new message
  // stream (empty), one conditional put.
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
  const spec = context.bundles.find((b) => b.firstRequest === 'create-chat')!;
  const launch = await launchOf(context, spec);
  const port = await freePort();
  // Info logs: each request's line has its server-side time (latencyMs: hapi's received → completed).
  const env = cleanEnv({ ...launch.env, ...functionEnv(context, { EVENTS_TABLE: tableName, LOG_LEVEL: 'info' }), PORT: String(port), AWS_LWA_PORT: String(port), HOST: '127.0.0.1' });
  const node = context.runtimes.development;
  const spawned = spawnProcess(node.path, launch.args, env, launch.cwd);
  context.defer(() => stop(spawned.child));
  const serverTimes: number[] = [];
  spawned.onLine((line) => {
    const time = /"latencyMs":([0-9.]+)/.exec(line)?.[1];
    if (time && line.includes('"method":"POST"')) serverTimes.push(Number(time));
  });
  await waitFor200(`http://127.0.0.1:${port}${spec.health}`, spawned.child);
  const headers = { authorization: `Bearer ${issueToken('bench', context.secret)}`, 'content-type': 'application/json' };
  const post = async () => {
    const response = await fetch(`http://127.0.0.1:${port}/command/v1/group-chats/${chat}/messages`, { method: 'POST', headers, body: JSON.stringify({ text: 'bench' }) });
    if (response.status !== 201) throw new Error(`post message → ${response.status} ${await response.text()}`);
    await response.arrayBuffer();
  };
  await post();
  const rows: Row[] = [];
  const results: Record<string, unknown> = {};
  for (const concurrency of [1, 16]) {
    context.log(`[command] ${context.sizes.requests} posts at concurrency ${concurrency}, then the raw calls`);
    const before = serverTimes.length;
    const ours = await runLoad(post, context.sizes.requests, concurrency);
    await sleep(100);
    const server = spread(serverTimes.slice(before + Math.min(50, context.sizes.requests)));
    const raw = await runLoad(rawCommand, context.sizes.requests, concurrency);
    results[concurrency] = { ours, raw, server };
    rows.push(
      measured('command', `command latency inside the server (hapi responseTime), concurrency ${concurrency} (median)`, server.p50, raw.p50, 'ms', '≤ 1.5× raw', server.p50 / raw.p50 <= 1.5, {
        spread: `p90 ${round(server.p90)} vs ${round(raw.p90)} ms, n = ${server.n}`,
        note: 'the same requests without the client\'s HTTP round trip',
      }),
      measured('command', `command latency, post message, command bundle, concurrency ${concurrency} (median)`, ours.p50, raw.p50, 'ms', '≤ 1.5× raw', ours.p50 / raw.p50 <= 1.5, {
        spread: `p90 ${round(ours.p90)} vs ${round(raw.p90)} ms, p99 ${round(ours.p99)} vs ${round(raw.p99)} ms, n = ${ours.n}`,
        note: `${round(ours.throughput)} vs ${round(raw.throughput)} per s; ${node.label}; baseline: the raw calls (2 Query + conditional PutItem) from this process`,
      }),
    );
  }
  context.raw.command = results;
  await stop(spawned.child);
  return rows;
}

/** Query latency of a page of 50 messages against the SQL the query runs (info). */
export async function queryLatency(context: BenchContext): Promise<Row[]> {
  const tableName = await context.freshTable('bench-query');
  const database = await context.freshDatabase('bench_query');
  const chat = uuidv7();
  const commits = [chatCreated(chat, 'Bench')];
  for (let n = 0; n < 200; n++) commits.push(commit(messageStream(uuidv7()), 1, [{ type: 'MessagePosted', data: { groupChatId: chat, authorId: 'bench', text: `message ${n}` } }]));
  await writeCommits(context.dynamo.client, tableName, commits);
  const app = await startApp(context, tableName, database);
  await app.projector.catchUpAll();
  const rawQuery = async () => {
    await database.db
      .selectFrom('members as m')
      .innerJoin('group_chats as g', 'g.group_chat_id', 'm.group_chat_id')
      .select('m.user_id')
      .where('m.group_chat_id', '=', chat)
      .where('m.user_id', '=', 'bench')
      .where('g.deleted', '=', false)
      .executeTakeFirst();
    await database.db.selectFrom('messages').selectAll().where('group_chat_id', '=', chat).orderBy('posted_at', 'desc').orderBy('message_id', 'desc').limit(51).execute();
  };
  const rows: Row[] = [];
  const results: Record<string, unknown> = {};
  for (const concurrency of [1, 16]) {
    context.log(`[query] ${context.sizes.requests} reads at concurrency ${concurrency}, then the raw SQL`);
    const ours = await runLoad(() => app.call('GET', `/query/v1/group-chats/${chat}/messages?limit=50`), context.sizes.requests, concurrency);
    const raw = await runLoad(rawQuery, context.sizes.requests, concurrency);
    results[concurrency] = { ours, raw };
    rows.push(
      measured('query', `query latency, 50 messages, concurrency ${concurrency} (median)`, ours.p50, raw.p50, 'ms', 'info', undefined, {
        spread: `p90 ${round(ours.p90)} vs ${round(raw.p90)} ms, n = ${ours.n}`,
        note: `${round(ours.throughput)} vs ${round(raw.throughput)} per s; ${database.kind === 'postgres' ? 'Postgres' : 'PGlite'}; in this process; baseline: the same two SELECTs through Kysely`,
      }),
    );
  }
  context.raw.query = results;
  return rows;
}

/** A post on a chat with a long history against a post on a new chat. */
export async function longHistory(context: BenchContext): Promise<Row[]> {
  const { historyMembers, historyChanges, historyMessages, requests } = context.sizes;
  const tableName = await context.freshTable('bench-history');
  const database = await context.freshDatabase('bench_history');
  const chatId = uuidv7();
  const stream = groupChatStream(chatId);
  const commits: Commit[] = [chatCreated(chatId, 'Long history')];
  for (let n = 1; n < historyMembers; n++) commits.push(commit(stream, commits.length + 1, [{ type: 'MemberAdded', data: { userId: `member${n}`, role: 'member' } }]));
  for (let n = 0; n < historyChanges; n++) {
    const userId = `member${1 + (n % (historyMembers - 1))}`;
    commits.push(commit(stream, commits.length + 1, [{ type: 'MemberRoleChanged', data: { userId, role: n % 2 === 0 ? 'admin' : 'member' } }]));
  }
  for (let n = 0; n < historyMessages; n++) commits.push(commit(messageStream(uuidv7()), 1, [{ type: 'MessagePosted', data: { groupChatId: chatId, authorId: 'bench', text: `history ${n}` } }]));
  context.log(`[history] writing a chat with ${commits.length} commits…`);
  await writeCommits(context.dynamo.client, tableName, commits);
  const app = await startApp(context, tableName, database);
  const fresh = (await app.call('POST', '/command/v1/group-chats', { name: 'New' })).groupChatId as string;
  const first = performance.now();
  await app.call('POST', `/command/v1/group-chats/${chatId}/messages`, { text: 'first after a restart' });
  const firstMs = performance.now() - first;
  const long = await runLoad(() => app.call('POST', `/command/v1/group-chats/${chatId}/messages`, { text: 'x' }), requests, 1);
  const young = await runLoad(() => app.call('POST', `/command/v1/group-chats/${fresh}/messages`, { text: 'x' }), requests, 1);
  context.raw.longHistory = { firstMs, long, young };
  return [
    measured('history', `post message, chat with ${historyMessages} messages, ${historyMembers} members, ${historyChanges} membership changes (median)`, long.p50, young.p50, 'ms', '≈ 1× a new chat', long.p50 / young.p50 <= 1.2, {
      spread: `p90 ${round(long.p90)} vs ${round(young.p90)} ms, n = ${long.n}`,
      note: `first command on it (cold cache): ${round(firstMs)} ms; baseline: a post on a new chat`,
    }),
  ];
}

/** A log of `events` events: chats with members, and messages in them. */
function generatedLog(events: number): Commit[] {
  const commits: Commit[] = [];
  let count = 0;
  while (count < events) {
    const chatId = uuidv7();
    commits.push(chatCreated(chatId, 'Generated'));
    commits.push(commit(groupChatStream(chatId), 2, [{ type: 'MemberAdded', data: { userId: 'reader', role: 'member' } }]));
    count += 3;
    for (let m = 0; m < 47 && count < events; m++, count++) {
      commits.push(commit(messageStream(uuidv7()), 1, [{ type: 'MessagePosted', data: { groupChatId: chatId, authorId: 'bench', text: `message ${m}` } }]));
    }
  }
  return commits;
}

export async function rebuildThroughput(context: BenchContext): Promise<Row[]> {
  const { rebuildEvents } = context.sizes;
  const tableName = await context.freshTable('bench-rebuild');
  const database = await context.freshDatabase('bench_rebuild');
  const generated = generatedLog(rebuildEvents);
  context.log(`[rebuild] writing ${rebuildEvents} events to the log…`);
  await writeCommits(context.dynamo.client, tableName, generated);
  const events = generated.reduce((sum, c) => sum + c.events.length, 0);
  context.log('[rebuild] rebuilding…');
  const t0 = performance.now();
  const result = await rebuildProjections(database, new DynamoDbEventStore({ client: context.dynamo.client, tableName }));
  const seconds = (performance.now() - t0) / 1000;
  // Baseline: inserting the same message rows with multi-row INSERTs, nothing else.
  const side = `${database.schema}_rebuild`;
  const baseline = database.inSchema(side);
  await sql`create schema if not exists ${sql.id(side)}`.execute(database.db);
  await migrate(baseline, side);
  const rows = generated.flatMap((c) =>
    c.events
      .filter((e) => e.type === 'MessagePosted')
      .map((e) =>
        newRow(tables.messages, { message_id: c.streamId.slice('Message-'.length), group_chat_id: (e.data as { groupChatId: string }).groupChatId, author_id: 'bench', text: (e.data as { text: string }).text, posted_at: new Date(c.occurredAt) }),
      ),
  );
  const b0 = performance.now();
  for (let start = 0; start < rows.length; start += 1_000) await baseline.insertInto('messages').values(rows.slice(start, start + 1_000)).execute();
  const baselineSeconds = (performance.now() - b0) / 1000;
  context.raw.rebuild = { events, commits: result.commits, seconds, baselineRows: rows.length, baselineSeconds };
  const rate = events / seconds;
  return [
    measured('rebuild', `rebuild, ${events} events into ${database.kind === 'postgres' ? 'Postgres' : 'PGlite'} (events/s)`, rate, rows.length / baselineSeconds, 'events/s', '≥ 5,000 events/s', rate >= 5_000, {
      note: 'baseline: bulk INSERT of the message rows alone',
    }),
  ];
}
