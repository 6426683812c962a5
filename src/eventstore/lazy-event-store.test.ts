import { randomUUID } from 'node:crypto';
import t from 'tap';
import { createDynamoDbClient, DynamoDbEventStore } from './dynamodb-event-store.ts';
import { eventStoreContract } from './event-store.contract.ts';
import { ensureEventsTable } from './events-table.ts';
import { lazyDynamoDbEventStore, lazyEventStore } from './lazy-event-store.ts';
import { startLocalDynamoDb } from './local-dynalite.ts';
import type { LocalDynamoDb } from './local-dynalite.ts';

let dynamo: LocalDynamoDb;
t.before(async () => {
  dynamo = await startLocalDynamoDb();
});
t.teardown(() => dynamo.close());

const freshTable = async () => {
  const tableName = `events-${randomUUID()}`;
  const client = createDynamoDbClient({ endpoint: dynamo.endpoint, inProcess: true });
  await ensureEventsTable(client, tableName);
  client.destroy();
  return tableName;
};

const commit = (streamId: string, expectedVersion = 0) => ({
  streamId,
  expectedVersion,
  commandId: randomUUID(),
  actorId: 'bob',
  occurredAt: new Date().toISOString(),
  events: [{ type: 'Noted', data: { n: expectedVersion } }],
});

t.test('contract: the lazily loaded DynamoDB event store', (t) => {
  eventStoreContract(t, async () => lazyDynamoDbEventStore({ tableName: await freshTable(), endpoint: dynamo.endpoint }));
  t.end();
});

t.test('nothing is loaded or opened before the first call; close before it closes nothing', async (t) => {
  const store = lazyDynamoDbEventStore({ tableName: await freshTable(), endpoint: dynamo.endpoint });
  t.equal(store.loaded, false);
  await store.close();
  t.equal(store.loaded, false, 'closing does not load it');
  const streamId = `S-${randomUUID()}`;
  t.same(await store.readStream(streamId), [], 'the first call loads it and answers');
  t.equal(store.loaded, true);
  await store.append(commit(streamId));
  t.match(await store.readStream(streamId), [{ streamId, version: 1 }]);
  await store.close();
});

t.test('a load that fails is tried again by the next call', async (t) => {
  const tableName = await freshTable();
  let attempts = 0;
  let closed = 0;
  const store = lazyEventStore(async () => {
    attempts++;
    if (attempts === 1) throw new Error('chunk not readable');
    const client = createDynamoDbClient({ endpoint: dynamo.endpoint, inProcess: true });
    return {
      store: new DynamoDbEventStore({ client, tableName }),
      close: () => {
        closed++;
        client.destroy();
      },
    };
  });
  await t.rejects(store.ping(), /chunk not readable/);
  t.equal(store.loaded, false);
  await store.ping();
  t.equal(attempts, 2);
  const streamId = `S-${randomUUID()}`;
  await store.append(commit(streamId));
  const pages = [];
  for await (const page of store.scan({ segments: 1 })) pages.push(...page);
  t.match(pages, [{ streamId, version: 1 }], 'scan goes through it too');
  t.same(await store.claimKey({ key: randomUUID(), fingerprint: 'f', occurredAt: new Date().toISOString() }), { ours: true });
  t.equal(attempts, 2, 'loaded once');
  await store.close();
  t.equal(closed, 1);
});
