import { randomUUID } from 'node:crypto';
import t from 'tap';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { awsHttpTimeouts } from '../shared/aws-http.ts';
import { createDynamoDbClient, DynamoDbEventStore } from './dynamodb-event-store.ts';
import { eventStoreContract } from './event-store.contract.ts';
import { EventStoreUnavailableError } from './event-store.ts';
import { ensureEventsTable } from './events-table.ts';
import { startLocalDynamoDb } from './local-dynalite.ts';
import type { LocalDynamoDb } from './local-dynalite.ts';

let dynamo: LocalDynamoDb;
t.before(async () => {
  dynamo = await startLocalDynamoDb();
});
t.teardown(() => dynamo.close());

const freshStore = async (tableName = `events-${randomUUID()}`) => {
  const client = createDynamoDbClient({ endpoint: dynamo.endpoint, inProcess: true });
  await ensureEventsTable(client, tableName);
  return { client, store: new DynamoDbEventStore({ client, tableName }) };
};

t.test('contract', (t) => {
  eventStoreContract(t, async () => (await freshStore()).store);
  t.end();
});

t.test('a long stream is read with several Query pages', async (t) => {
  const { client, store } = await freshStore();
  let queries = 0;
  client.middlewareStack.add(
    (next, context) => (args) => {
      if (context.commandName === 'QueryCommand') queries++;
      return next(args);
    },
    { step: 'initialize', name: 'countQueries' },
  );
  const streamId = `S-${randomUUID()}`;
  const filler = 'y'.repeat(40_000);
  for (let version = 0; version < 30; version++) {
    await store.append({
      streamId,
      expectedVersion: version,
      commandId: randomUUID(),
      actorId: 'bob',
      occurredAt: new Date().toISOString(),
      events: [{ type: 'Big', data: { filler } }],
    });
  }
  const commits = await store.readStream(streamId);
  t.equal(commits.length, 30);
  t.ok(queries > 1, `read took ${queries} Query pages`);
});

t.test('ensureEventsTable creates the table once, with keys and a NEW_IMAGE stream', async (t) => {
  const client = createDynamoDbClient({ endpoint: dynamo.endpoint, inProcess: true });
  const tableName = `events-${randomUUID()}`;
  // dynalite does not echo stream settings back, so look at what was asked of it.
  const createInputs: unknown[] = [];
  client.middlewareStack.add(
    (next, context) => (args) => {
      if (context.commandName === 'CreateTableCommand') createInputs.push(args.input);
      return next(args);
    },
    { step: 'initialize', name: 'captureCreate' },
  );
  const created = await Promise.all([ensureEventsTable(client, tableName), ensureEventsTable(client, tableName)]);
  t.equal(created.filter(Boolean).length <= 1, true, 'at most one call reports creating it');
  t.equal(await ensureEventsTable(client, tableName), false, 'a later call finds it');
  const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  t.same(Table?.KeySchema, [
    { AttributeName: 'streamId', KeyType: 'HASH' },
    { AttributeName: 'version', KeyType: 'RANGE' },
  ]);
  t.match(createInputs[0], { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' } });
});

t.test('an unreachable log surfaces as EventStoreUnavailableError', async (t) => {
  const gone = await startLocalDynamoDb();
  await gone.close();
  const client = createDynamoDbClient({ endpoint: gone.endpoint });
  const store = new DynamoDbEventStore({ client, tableName: 'events' });
  const append = store.append({
    streamId: 'S-1',
    expectedVersion: 0,
    commandId: randomUUID(),
    actorId: 'carol',
    occurredAt: new Date().toISOString(),
    events: [{ type: 'X', data: {} }],
  });
  await t.rejects(append, EventStoreUnavailableError);
  await t.rejects(store.readStream('S-1'), EventStoreUnavailableError);
  await t.rejects(store.ping(), EventStoreUnavailableError);
  await t.rejects(
    (async () => {
      for await (const page of store.scan()) void page;
    })(),
    EventStoreUnavailableError,
  );
});

t.test('a missing table is reported as unavailable, not as a defect', async (t) => {
  const client = createDynamoDbClient({ endpoint: dynamo.endpoint, inProcess: true });
  const store = new DynamoDbEventStore({ client, tableName: `missing-${randomUUID()}` });
  await t.rejects(store.readStream('S-1'), EventStoreUnavailableError);
});

t.test('a client for a log inside this process has no time limits: a late answer is still the answer', async (t) => {
  // An event log that answers every call, but only after the request timeout the services use
  // against AWS has passed: what a dynalite in a busy process looks like to its client.
  const late = awsHttpTimeouts.requestTimeout + 500;
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      setTimeout(() => response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end('{"Count":0,"Items":[],"ScannedCount":0}'), late);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const client = createDynamoDbClient({ endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, inProcess: true });
  t.teardown(() => client.destroy());
  const store = new DynamoDbEventStore({ client, tableName: 'events' });
  t.same(await store.readStream('S-1'), [], `the answer after ${late} ms is read, not retried into a 503`);
});

t.test('the deep check reports a log that reads but refuses writes, until a write succeeds again', async (t) => {
  const { client, store } = await freshStore();
  let refuse = false;
  // The table answers reads; its writes fail as a throttled or broken table's do (a 5xx).
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (refuse && context.commandName === 'PutItemCommand') {
        throw Object.assign(new Error('the disk is full'), { name: 'InternalServerError', $metadata: { httpStatusCode: 500 } });
      }
      return next(args);
    },
    { step: 'initialize', name: 'refuseWrites' },
  );
  const append = (streamId: string, expectedVersion = 0) =>
    store.append({ streamId, expectedVersion, commandId: randomUUID(), actorId: 'carol', occurredAt: new Date().toISOString(), events: [{ type: 'X', data: {} }] });
  await append('S-1');
  await t.resolves(store.ping(), 'writes work: healthy');

  refuse = true;
  await t.rejects(append('S-2'), EventStoreUnavailableError);
  await t.resolves(store.readStream('S-1'), 'reads still work');
  await t.rejects(store.ping(), { name: 'EventStoreUnavailableError', message: /^event log refuses writes: the last one failed \(event log unavailable \(append\)/ });
  await t.rejects(store.claimKey({ key: 'k', fingerprint: 'f', occurredAt: new Date().toISOString() }), EventStoreUnavailableError);
  await t.rejects(store.ping(), /claim key/, 'a refused key claim counts too');

  refuse = false;
  await t.rejects(append('S-1'), { name: 'VersionConflictError' }, 'a refused condition is a write the log took');
  await t.resolves(store.ping(), 'healthy again');
  refuse = true;
  await t.rejects(append('S-3'), EventStoreUnavailableError);
  refuse = false;
  await append('S-3');
  await t.resolves(store.ping(), 'a write that succeeds clears it');
});
