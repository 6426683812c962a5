import type { DynamoDBRecord } from 'aws-lambda';
import t from 'tap';
import { EventStoreUnavailableError } from '../../eventstore/index.ts';
import type { Commit, EventStore } from '../../eventstore/index.ts';
import { commandServer } from '../../testing/command-server.ts';
import { eachDatabase } from '../../testing/databases.ts';
import { insertRecord, modifyRecord, poisonRecord, removeRecord, streamEvent } from '../../testing/stream-events.ts';
import { closeTestDynamoDb, freshEventStore, wrapStore } from '../../testing/stores.ts';
import { createHttpServer } from '../../shared/http-server.ts';
import { Projector } from '../projection/index.ts';
import type { ProjectionDatabase } from '../projection/index.ts';
import { streamEventsEndpoint } from './stream-events.ts';

t.teardown(closeTestDynamoDb);

interface Logged {
  readonly tags: string[];
  readonly data: Record<string, unknown>;
}

async function projectorFunction(database: ProjectionDatabase, log: EventStore) {
  const server = createHttpServer();
  await server.register({ plugin: streamEventsEndpoint, options: { projector: new Projector(database.db, log), tableName: 'events' } });
  await server.initialize();
  const logged: Logged[] = [];
  server.events.on({ name: 'request', channels: 'app' }, (_request, event) => {
    logged.push({ tags: event.tags, data: event.data as Record<string, unknown> });
  });
  const invoke = async (body: unknown) => {
    const response = await server.inject({ method: 'POST', url: '/events', payload: body as object });
    return { status: response.statusCode, body: JSON.parse(response.payload) as { batchItemFailures?: { itemIdentifier: string }[] } };
  };
  /** The summary line of the last batch. */
  const summary = () => logged.filter((entry) => entry.data?.msg === 'stream batch').at(-1)?.data;
  return Object.assign(invoke, { logged, summary });
}

async function commitsOf(store: EventStore): Promise<Commit[]> {
  const all: Commit[] = [];
  for await (const page of store.scan()) all.push(...page);
  return all.sort((a, b) => a.streamId.localeCompare(b.streamId) || a.version - b.version);
}

eachDatabase(t, 'POST /events', async (t, open) => {
  const { store } = await freshEventStore();
  const api = await commandServer(store);
  const alice = api.as('alice');
  const { id } = await alice.createChat('Streamed');
  await alice.addMember(id, 'bob');
  await alice.rename(id, 'Streamed twice');
  const posted = await alice.post(id, 'from the stream');
  const commits = await commitsOf(store);
  const chatCommits = commits.filter((c) => c.streamId.startsWith('GroupChat-'));
  const messageCommit = commits.find((c) => c.streamId.startsWith('Message-'))!;

  t.test('several commits in one batch, duplicated and out of order, plus MODIFY/REMOVE noise', async (t) => {
    const database = await open();
    const invoke = await projectorFunction(database, store);
    const [c1, c2, c3] = chatCommits;
    const result = await invoke(
      streamEvent([
        insertRecord(c2!),
        modifyRecord(c1!),
        insertRecord(c1!),
        insertRecord(messageCommit),
        removeRecord(c3!),
        insertRecord(c3!),
        insertRecord(c2!),
      ]),
    );
    t.same(result, { status: 200, body: { batchItemFailures: [] } });
    t.match(await database.db.selectFrom('group_chats').selectAll().execute(), [{ group_chat_id: id, name: 'Streamed twice', version: 3 }]);
    t.equal((await database.db.selectFrom('members').selectAll().execute()).length, 2);
    t.match(await database.db.selectFrom('messages').selectAll().execute(), [{ message_id: posted.id, text: 'from the stream' }]);
    t.same(await invoke(streamEvent(commits.map((c) => insertRecord(c)))), { status: 200, body: { batchItemFailures: [] } }, 'a replayed batch is harmless');
  });

  t.test('a poison record comes back in batchItemFailures, the rest are applied', async (t) => {
    const database = await open();
    const invoke = await projectorFunction(database, store);
    const poison = poisonRecord('555000000000000000000000');
    const result = await invoke(streamEvent([insertRecord(chatCommits[0]!), poison, insertRecord(messageCommit)]));
    t.same(result, { status: 200, body: { batchItemFailures: [{ itemIdentifier: '555000000000000000000000' }] } });
    t.equal((await database.db.selectFrom('group_chats').selectAll().execute()).length, 1);
    t.equal((await database.db.selectFrom('messages').selectAll().execute()).length, 1);
  });

  t.test('an unreachable log or database fails the invocation (503) so the batch is retried', async (t) => {
    const database = await open();
    const down = wrapStore(store, {
      readStream: async () => {
        throw new EventStoreUnavailableError('the log is down');
      },
    });
    const invoke = await projectorFunction(database, down);
    // version 2 alone is a gap: the projector must read the log, which is down
    const result = await invoke(streamEvent([insertRecord(chatCommits[1]!)]));
    t.equal(result.status, 503);
    t.same(await database.db.selectFrom('stream_positions').selectAll().execute(), [], 'nothing half-applied');
  });

  t.test('a record that fails for its own reason is reported; the rest of the batch applies', async (t) => {
    const database = await open();
    const broken = wrapStore(store, {
      readStream: async () => {
        throw new Error('the log answered nonsense');
      },
    });
    const invoke = await projectorFunction(database, broken);
    const gap = insertRecord(chatCommits[1]!, '700000000000000000000001');
    const result = await invoke(streamEvent([gap, insertRecord(messageCommit)]));
    t.same(result, { status: 200, body: { batchItemFailures: [{ itemIdentifier: '700000000000000000000001' }] } });
    t.equal((await database.db.selectFrom('messages').selectAll().execute()).length, 1, 'the message still applied');
  });

  t.test('every record ends applied, skipped with a reason, or failed, and the log counts them', async (t) => {
    const database = await open();
    const invoke = await projectorFunction(database, store);
    const [c1, c2] = chatCommits;
    const idempotency = (eventName: 'INSERT' | 'MODIFY' | 'REMOVE', sequenceNumber: string): DynamoDBRecord => {
      const record = insertRecord(c1!, sequenceNumber);
      const image = { streamId: { S: 'Idempotency-alice-k1' }, version: { N: '0' }, status: { N: '201' }, body: { S: '{}' } };
      return { ...record, eventName, dynamodb: { ...record.dynamodb, Keys: { streamId: image.streamId, version: image.version }, NewImage: image } };
    };
    const ahead = { ...c2!, version: 9, streamId: c2!.streamId };
    const foreignTable = { ...insertRecord(c2!, '800000000000000000000009'), eventSourceARN: 'arn:aws:dynamodb:eu-west-1:123456789012:table/other/stream/x' };
    const result = await invoke(
      streamEvent([
        insertRecord(c1!, '800000000000000000000001'), // applied
        insertRecord(c1!, '800000000000000000000002'), // skipped: already applied
        modifyRecord(c1!), // skipped: not an insert
        idempotency('INSERT', '800000000000000000000003'), // skipped: not a stream
        idempotency('REMOVE', '800000000000000000000004'), // skipped: not a stream
        foreignTable, // skipped: other table
        insertRecord(ahead, '800000000000000000000005'), // failed: the log does not hold version 9
        poisonRecord('800000000000000000000006'), // failed: not a commit
        insertRecord(messageCommit, '800000000000000000000007'), // applied
      ]),
    );
    t.same(result, {
      status: 200,
      body: { batchItemFailures: [{ itemIdentifier: '800000000000000000000005' }, { itemIdentifier: '800000000000000000000006' }] },
    });
    t.same(invoke.summary(), {
      msg: 'stream batch',
      records: 9,
      applied: 2,
      skipped: { 'already-applied': 1, 'not-an-insert': 1, 'not-a-stream': 2, 'other-table': 1 },
      failed: 2,
      events: c1!.events.length + messageCommit.events.length,
    });
    const failures = invoke.logged.filter((entry) => entry.data?.msg === 'stream record failed').map((entry) => entry.data);
    t.match(failures, [{ sequenceNumber: '800000000000000000000005', reason: /does not hold/ }, { sequenceNumber: '800000000000000000000006', reason: /not a commit/ }]);
    t.match(await database.db.selectFrom('stream_positions').selectAll().orderBy('stream_id').execute(), [{ version: 1 }, { version: 1 }]);
  });

  t.test('an event type the read model does not know fails its record and the stream behind it, nothing else', async (t) => {
    const database = await open();
    const invoke = await projectorFunction(database, store);
    const [c1, c2, c3] = chatCommits;
    const future = { ...c2!, events: [{ type: 'GroupChatArchived', data: {} }] };
    const log = wrapStore(store, {
      readStream: async (streamId, options) => (await store.readStream(streamId, options)).map((c) => (c.streamId === future.streamId && c.version === 2 ? future : c)),
    });
    const withFuture = await projectorFunction(database, log);
    t.same((await invoke(streamEvent([insertRecord(c1!)]))).body, { batchItemFailures: [] });
    const result = await withFuture(streamEvent([insertRecord(future, '900000000000000000000001'), insertRecord(c3!, '900000000000000000000002'), insertRecord(messageCommit, '900000000000000000000003')]));
    t.same(result.body, { batchItemFailures: [{ itemIdentifier: '900000000000000000000001' }, { itemIdentifier: '900000000000000000000002' }] });
    t.match(withFuture.logged.find((entry) => entry.data?.msg === 'stream record failed')?.data, { reason: /unknown type "GroupChatArchived"/ });
    t.match(await database.db.selectFrom('group_chats').select('version').execute(), [{ version: 1 }], 'the chat stays before the unknown event');
    t.equal((await database.db.selectFrom('messages').selectAll().execute()).length, 1, 'other streams apply');
  });

  t.test('DynamoDB Local shapes (empty map as {}) apply like AWS ones', async (t) => {
    const database = await open();
    const invoke = await projectorFunction(database, store);
    const { id: chat } = await alice.createChat('Deleted soon');
    const { id: message } = await alice.post(chat, 'gone soon');
    await alice.deleteMessage(chat, message);
    await alice.deleteChat(chat);
    const emptyMapAsDynamoDbLocal = (record: DynamoDBRecord): DynamoDBRecord =>
      JSON.parse(JSON.stringify(record).replaceAll('"data":{"M":{}}', '"data":{}')) as DynamoDBRecord;
    const records = [...(await store.readStream(`GroupChat-${chat}`)), ...(await store.readStream(`Message-${message}`))].map((c) => emptyMapAsDynamoDbLocal(insertRecord(c)));
    t.ok(JSON.stringify(records).includes('"data":{}'), 'the fixture has the {} shape');
    t.same((await invoke(streamEvent(records))).body, { batchItemFailures: [] });
    t.match(invoke.summary(), { applied: records.length, failed: 0 });
    t.match(await database.db.selectFrom('group_chats').select(['deleted']).where('group_chat_id', '=', chat).execute(), [{ deleted: true }]);
    t.same(await database.db.selectFrom('messages').selectAll().where('message_id', '=', message).execute(), []);
  });

  t.test('a record without a sequence number cannot be reported: the invocation fails', async (t) => {
    const database = await open();
    const invoke = await projectorFunction(database, store);
    const record = insertRecord(chatCommits[0]!);
    const result = await invoke({ Records: [record, { ...record, dynamodb: { ...record.dynamodb, SequenceNumber: undefined } }] });
    t.equal(result.status, 400);
  });

  t.test('a body that is not a stream event is refused', async (t) => {
    const database = await open();
    const invoke = await projectorFunction(database, store);
    t.equal((await invoke({ hello: 'world' })).status, 400);
    t.equal((await invoke({ catchUp: 'some' })).status, 400, 'a catch-up is of everything');
    for (const body of [{}, { catchUp: 'all', extra: 1 }]) {
      const refused = await invoke(body);
      t.equal(refused.status, 400);
      t.match((refused.body as { message?: string }).message, /^the body is neither a stream batch \(Records\) nor a catch-up \(catchUp: "all"\)$/, 'says what it takes');
    }
  });

  t.test('the repair: {"catchUp":"all"} brings every stream the projection is behind on up to the log, and says what it did', async (t) => {
    const { store } = await freshEventStore();
    const alice = (await commandServer(store)).as('alice');
    const chat = await alice.createChat('Behind');
    await alice.rename(chat.id, 'Behind twice');
    const message = await alice.post(chat.id, 'lost on the way');
    const [first] = (await commitsOf(store)).filter((c) => c.streamId.startsWith('GroupChat-'));
    const database = await open();
    const invoke = await projectorFunction(database, store);
    // As after records went to the on-failure queue: the chat's first commit arrived, nothing else.
    t.same(await invoke(streamEvent([insertRecord(first!)])), { status: 200, body: { batchItemFailures: [] } });
    const repaired = await invoke({ catchUp: 'all' });
    t.equal(repaired.status, 200);
    t.same(repaired.body, { scanned: 3, streamsBehind: 2, eventsApplied: 2, failed: [] });
    t.match(await database.db.selectFrom('group_chats').selectAll().execute(), [{ group_chat_id: chat.id, name: 'Behind twice', version: 2 }]);
    t.match(await database.db.selectFrom('messages').selectAll().execute(), [{ message_id: message.id, text: 'lost on the way' }]);
    t.same((await invoke({ catchUp: 'all' })).body, { scanned: 3, streamsBehind: 0, eventsApplied: 0, failed: [] }, 'run again: nothing left');
    const down = await projectorFunction(
      database,
      wrapStore(store, {
        scan: () => {
          throw new EventStoreUnavailableError('the log is down');
        },
      }),
    );
    t.equal((await down({ catchUp: 'all' })).status, 503, 'a log that cannot be read fails the invocation');
  });
});
