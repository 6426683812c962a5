import t from 'tap';
import type { Commit, EventStore } from '../../../eventstore/index.ts';
import { commandServer } from '../../../testing/command-server.ts';
import { eachDatabase } from '../../../testing/databases.ts';
import { insertRecord, modifyRecord, poisonRecord, removeRecord, streamEvent } from '../../../testing/stream-events.ts';
import { closeTestDynamoDb, freshEventStore, wrapStore } from '../../../testing/stores.ts';
import { createHttpServer } from '../../../shared/http-server.ts';
import type { ProjectionDatabase } from '../database.ts';
import { Projector } from './projector.ts';
import { streamEventsEndpoint } from './stream-events.ts';

t.teardown(closeTestDynamoDb);

async function projectorFunction(database: ProjectionDatabase, log: EventStore) {
  const server = createHttpServer();
  await server.register({ plugin: streamEventsEndpoint, options: { projector: new Projector(database.db, log) } });
  await server.initialize();
  return async (body: unknown) => {
    const response = await server.inject({ method: 'POST', url: '/events', payload: body as object });
    return { status: response.statusCode, body: JSON.parse(response.payload) as { batchItemFailures?: { itemIdentifier: string }[] } };
  };
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

  t.test('an unexpected failure answers 500 so the invocation fails and is retried', async (t) => {
    const database = await open();
    const broken = wrapStore(store, {
      readStream: async () => {
        throw new Error('the log answered nonsense');
      },
    });
    const invoke = await projectorFunction(database, broken);
    // version 2 alone is a gap: the projector must read the log, which fails
    const result = await invoke(streamEvent([insertRecord(chatCommits[1]!)]));
    t.equal(result.status, 500);
    t.same(await database.db.selectFrom('stream_positions').selectAll().execute(), [], 'nothing half-applied');
  });

  t.test('a body that is not a stream event is refused', async (t) => {
    const database = await open();
    const invoke = await projectorFunction(database, store);
    t.equal((await invoke({ hello: 'world' })).status, 400);
  });
});
