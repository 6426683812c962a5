import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import t from 'tap';
import { v7 as uuidv7 } from 'uuid';
import { encodeConsistencyToken } from '../contracts/consistency-token.ts';
import type { Commit } from '../eventstore/index.ts';
import { groupChatStream, messageStream } from '../contracts/streams.ts';
import { classifyDriverError } from '../modules/projection/database-driver.ts';
import { Projector } from '../modules/projection/index.ts';
import { queryModule } from '../modules/query/index.ts';
import { ProjectionUnavailableError } from '../modules/projection/projection-errors.ts';
import type { Database } from '../modules/projection/index.ts';
import { projectorHealthPath, projectorModule } from '../modules/projector/index.ts';
import { authPlugin, issueToken } from '../shared/auth.ts';
import { invocationContextHeader } from '../shared/health.ts';
import { createHttpServer } from '../shared/http-server.ts';
import { appServer } from '../testing/app-server.ts';
import { testSecret } from '../testing/command-server.ts';
import { openTestDatabase, recordingStatements, refusedDatabase } from '../testing/databases.ts';
import { capturedLogger } from '../testing/log-capture.ts';
import { insertRecord, streamEvent } from '../testing/stream-events.ts';
import { closeTestDynamoDb, freshEventStore } from '../testing/stores.ts';

/**
 * The read side (ARCHITECTURE.md; docs/api.md, read-your-writes and robustness): what an
 * anonymous caller can make the query and projector functions do, what a commit this reader
 * does not understand can make a query answer, and whether a consistency token tells a foreign
 * stream from one that does not exist.
 */

t.teardown(closeTestDynamoDb);

const schemaExists = async (db: Kysely<Database>, schema: string) =>
  (await sql<{ n: number }>`select count(*)::int as n from information_schema.schemata where schema_name = ${schema}`.execute(db)).rows[0]!.n === 1;

t.test('schema work on first use happens only for an authenticated, valid request or a served deep check', async (t) => {
  const database = await openTestDatabase(t, undefined, { migrated: false });
  const { schema } = database;
  const { store } = await freshEventStore();
  const server = createHttpServer();
  await server.register([
    { plugin: authPlugin, options: { secret: testSecret } },
    { plugin: queryModule, options: { db: database.db, projector: new Projector(database.db, store), migrateOnFirstUse: { schema } } },
  ]);
  await server.initialize();
  const get = async (url: string, headers: Record<string, string> = {}) => (await server.inject({ method: 'GET', url, headers })).statusCode;
  const bearer = { authorization: `Bearer ${issueToken('alice', testSecret)}` };

  t.equal(await get('/query/v1/group-chats'), 401, 'no token');
  t.equal(await get('/query/v1/group-chats', { authorization: 'Bearer not.a.token' }), 401, 'a bad token');
  t.equal(await get(`/query/v1/group-chats/${uuidv7()}`, { authorization: `Bearer ${issueToken('alice', 'another-secret-of-16-chars')}` }), 401, 'a token of another key');
  t.equal(await get('/query/v1/group-chats?limit=0', bearer), 400, 'a caller with a token, but invalid input');
  t.equal(await get('/query/healthcheck'), 200, 'a plain health check');
  t.equal(await get('/query/healthcheck?deep=true', { [invocationContextHeader]: '{}' }), 200, 'a deep check asked for through the API');
  t.equal(await get('/query/v1/nothing-here', bearer), 404, 'an unknown route');
  t.equal(await schemaExists(database.db, schema), false, 'none of those touched the schema');

  t.equal(await get('/query/healthcheck?deep=true'), 200, 'a deep check from inside the deployment');
  t.equal(await schemaExists(database.db, schema), true, 'migrates');
  t.equal(await get('/query/v1/group-chats', bearer), 200, 'and serves');
});

t.test('the projector migrates on its first batch, never for a body it refuses', async (t) => {
  const database = await openTestDatabase(t, undefined, { migrated: false });
  const { schema } = database;
  const { store } = await freshEventStore();
  const server = createHttpServer();
  await server.register({
    plugin: projectorModule,
    options: { db: database.db, projector: new Projector(database.db, store), path: '/events', tableName: 'events', migrateOnFirstUse: { schema } },
  });
  await server.initialize();
  t.equal((await server.inject({ method: 'POST', url: '/events', payload: { hello: 'world' } })).statusCode, 400);
  const unreportable = await server.inject({ method: 'POST', url: '/events', payload: { Records: [{ eventName: 'INSERT' }] } });
  t.equal(unreportable.statusCode, 400, 'a record without a sequence number');
  t.match(JSON.parse(unreportable.payload), { message: /^"Records\[0\]\.dynamodb/ }, 'names the record');
  t.equal((await server.inject({ method: 'GET', url: projectorHealthPath })).statusCode, 200);
  t.equal(await schemaExists(database.db, schema), false, 'no schema work yet');
  const chat = uuidv7();
  const commit = { streamId: groupChatStream(chat), version: 1, commandId: randomUUID(), actorId: 'alice', occurredAt: new Date().toISOString(), events: [{ type: 'GroupChatCreated', data: { name: 'First', ownerId: 'alice' } }] };
  const response = await server.inject({ method: 'POST', url: '/events', payload: streamEvent([insertRecord(commit)]) as object });
  t.same(JSON.parse(response.payload), { batchItemFailures: [] });
  t.match(await database.db.selectFrom('group_chats').selectAll().execute(), [{ group_chat_id: chat, name: 'First' }]);
});

t.test('an event type this reader does not know, met by a consistency catch-up, is a reported projection failure, never a 500', async (t) => {
  const { store } = await freshEventStore();
  const { logger, entries } = capturedLogger();
  const api = await appServer(store, await openTestDatabase(t, null), { deliver: false, logger });
  const alice = api.as('alice');
  const chat = await alice.createChat('Ahead of its reader');
  const posted = await alice.post(chat.id, 'soon edited by the future');
  // A newer writer appended what this reader cannot project.
  const future = async (streamId: string) =>
    store.append({ streamId, expectedVersion: 1, commandId: randomUUID(), actorId: 'alice', occurredAt: new Date().toISOString(), events: [{ type: 'SomethingNew', data: { secret: 'x' } }] as never });
  await future(groupChatStream(chat.id));
  await future(messageStream(posted.id));

  for (const streamId of [groupChatStream(chat.id), messageStream(posted.id)]) {
    const token = encodeConsistencyToken({ streamId, version: 2 });
    const member = await api.send('alice', 'GET', `/query/v1/group-chats/${chat.id}`, undefined, { 'x-consistency-token': token });
    t.equal(member.status, 504, `a member waiting for ${streamId.split('-')[0]} version 2 is told it is not visible yet`);
    t.notMatch(member.payload, /SomethingNew|secret|unknown/, 'nothing about the commit');
    const unknownToken = encodeConsistencyToken({ streamId: `${streamId.split('-')[0]}-${uuidv7()}`, version: 2 });
    const stranger = await api.send('eve', 'GET', '/query/v1/group-chats', undefined, { 'x-consistency-token': token });
    const unknown = await api.send('eve', 'GET', '/query/v1/group-chats', undefined, { 'x-consistency-token': unknownToken });
    t.same([stranger.status, stranger.payload], [unknown.status, unknown.payload], 'a non-member learns what a made-up stream tells');
  }
  const reported = entries().filter((entry) => (entry.data as { msg?: string } | undefined)?.msg === 'a consistency catch-up could not apply a commit');
  t.ok(reported.length >= 2, 'each failure is logged');
  t.match(reported[0], { level: 50, tags: ['error', 'query', 'projection'], data: { streamId: groupChatStream(chat.id), err: { type: 'UnknownEventTypeError' } } });
  t.equal(entries().filter((entry) => (entry.res as { statusCode?: number } | undefined)?.statusCode === 500).length, 0, 'no 500 anywhere');
});

t.test('a token naming a foreign message and one naming no message take the same SQL', async (t) => {
  const { store } = await freshEventStore();
  const database = await openTestDatabase(t, null);
  const { db: counted, statements } = recordingStatements(database.db);
  const api = await appServer(store, { ...database, db: counted });
  const alice = api.as('alice');
  const chat = await alice.createChat('Private');
  const posted = await alice.post(chat.id, 'private words');
  await api.send('alice', 'GET', '/query/v1/group-chats', undefined, { 'x-consistency-token': posted.body.token as string });
  const probe = async (streamId: string) => {
    statements.length = 0;
    const response = await api.send('eve', 'GET', '/query/v1/group-chats', undefined, { 'x-consistency-token': encodeConsistencyToken({ streamId, version: 1 }) });
    return { status: response.status, payload: response.payload, statements: [...statements] };
  };
  const foreign = await probe(messageStream(posted.id));
  t.same(foreign, await probe(messageStream(uuidv7())), 'message: same answer, same statements');
  t.same(await probe(groupChatStream(chat.id)), await probe(groupChatStream(uuidv7())), 'chat: same answer, same statements');
});

t.test('a defect whose message sounds like an outage is still a 500, never a 503', async (t) => {
  const { store } = await freshEventStore();
  const database = await openTestDatabase(t, null);
  // A fault of our own code between the driver and the route (here: while rows are mapped),
  // worded like every "the store is gone" message there is.
  const defective = database.db.withPlugin({
    transformQuery: (args) => args.node,
    transformResult: async () => {
      throw new Error('Connection terminated unexpectedly: timeout, client closed, not initialized, destroyed');
    },
  });
  const api = await appServer(store, { ...database, db: defective }, { deliver: false });
  const response = await api.send('alice', 'GET', '/query/v1/group-chats');
  t.equal(response.status, 500);
  t.same(response.body, { statusCode: 500, error: 'Internal Server Error', message: 'An internal server error occurred' }, 'and it says nothing more');
});

t.test('what leaves the database driver is classified by type, never by its words', async (t) => {
  const serverError = (code: string, message: string) => Object.assign(new Error(message), { severity: 'ERROR', code });
  const unavailable = (error: unknown) => classifyDriverError(error) instanceof ProjectionUnavailableError;
  t.equal(unavailable(serverError('42P01', 'relation does not exist: connection closed, timeout')), false, 'the server refusing a statement');
  t.equal(unavailable(serverError('22021', 'invalid byte sequence')), false);
  t.equal(unavailable(new TypeError('cannot read the connection: closed')), false, 'a programming error');
  t.equal(unavailable(new RangeError('timeout out of range')), false);
  t.equal(unavailable('closed'), false, 'not even an Error');
  t.equal(unavailable(serverError('57P01', 'terminating connection due to administrator command')), true, 'the server going away');
  t.equal(unavailable(serverError('53300', 'too many connections')), true);
  t.equal(unavailable(Object.assign(new Error('whatever it says'), { code: '08006' })), true, 'a connection failure by SQLSTATE');
  t.equal(unavailable(new Error('Query read timeout')), true, "the driver's own failure under a query");
  const already = new ProjectionUnavailableError('x');
  t.equal(classifyDriverError(already), already);
});

t.test('migrations that cannot run answer 503 and are tried again by the next request', async (t) => {
  // A database every statement of which fails, as the migrations' would against one that is down.
  const database = await refusedDatabase(t);
  const { store } = await freshEventStore();
  let attempts = 0;
  const counting = database.db.withPlugin({
    transformQuery: (args) => {
      attempts++;
      return args.node;
    },
    transformResult: async (args) => args.result,
  });
  const server = createHttpServer();
  await server.register([
    { plugin: authPlugin, options: { secret: testSecret } },
    { plugin: queryModule, options: { db: counting, projector: new Projector(counting, store), migrateOnFirstUse: { schema: 'never_migrated' } } },
  ]);
  await server.initialize();
  const bearer = { authorization: `Bearer ${issueToken('alice', testSecret)}` };
  const first = await server.inject({ method: 'GET', url: '/query/v1/group-chats', headers: bearer });
  t.equal(first.statusCode, 503);
  t.equal(first.headers['retry-after'], '1');
  t.same(JSON.parse(first.payload), { statusCode: 503, error: 'Service Unavailable', message: 'projection database unavailable' });
  const tried = attempts;
  t.ok(tried > 0, 'the migration was tried');
  t.equal((await server.inject({ method: 'GET', url: '/query/v1/group-chats', headers: bearer })).statusCode, 503);
  t.ok(attempts > tried, 'and tried again');
});

t.test('repairs racing the live stream: catch-ups beside every batch, in order and reversed, apply each commit once', async (t) => {
  const { store } = await freshEventStore();
  const api = await appServer(store, await openTestDatabase(t, null), { deliver: false });
  const alice = api.as('alice');
  const chat = await alice.createChat('Race');
  for (let n = 0; n < 20; n++) await alice.post(chat.id, `message ${n}`);
  for (let n = 0; n < 10; n++) await alice.rename(chat.id, `Race ${n}`);
  const commits: Commit[] = [];
  for await (const page of store.scan()) commits.push(...page);
  const database = await openTestDatabase(t, null);
  const server = createHttpServer();
  await server.register({
    plugin: projectorModule,
    options: { db: database.db, projector: new Projector(database.db, store), path: '/events', tableName: 'events' },
  });
  await server.initialize();
  const invoke = (payload: object) => server.inject({ method: 'POST', url: '/events', payload });
  const batches = commits.map((commit) => streamEvent([insertRecord(commit)]) as object);
  const catchUp = { catchUp: 'all' };
  const answers = await Promise.all([invoke(catchUp), ...batches.map(invoke), invoke(catchUp), ...[...batches].reverse().map(invoke), invoke(catchUp)]);
  t.same(answers.filter((answer) => answer.statusCode !== 200).map((answer) => answer.payload), [], 'every invocation succeeded');
  t.same(answers.filter((answer) => /itemIdentifier|"failed":\[\{/.test(answer.payload)).map((answer) => answer.payload), [], 'and nothing failed in it');
  t.equal((await database.db.selectFrom('messages').selectAll().execute()).length, 20, 'every message once');
  t.match(await database.db.selectFrom('group_chats').selectAll().execute(), [{ name: 'Race 9', version: 11 }], 'the chat at its last version');
});
