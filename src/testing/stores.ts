import { randomUUID } from 'node:crypto';
import { ensureEventsTable } from '../eventstore/events-table.ts';
import { DynamoDbEventStore, createDynamoDbClient } from '../eventstore/dynamodb-event-store.ts';
import type { EventStore } from '../eventstore/index.ts';
import { startLocalDynamoDb } from '../eventstore/local-dynalite.ts';
import type { LocalDynamoDb } from '../eventstore/local-dynalite.ts';

/**
 * One in-memory dynalite per test process (started lazily), one fresh table per store, so tests
 * never see each other's events. It runs in the test's own process, so its clients have no time
 * limits (`inProcess`): a test that sends thirty requests at once on a loaded machine waits for
 * them instead of failing them.
 */
let shared: Promise<LocalDynamoDb> | undefined;

export function testDynamoDb(): Promise<LocalDynamoDb> {
  shared ??= startLocalDynamoDb();
  return shared;
}

export async function closeTestDynamoDb(): Promise<void> {
  if (!shared) return;
  const dynamo = await shared;
  shared = undefined;
  await dynamo.close();
}

export async function freshEventStore(): Promise<{ store: DynamoDbEventStore; tableName: string; endpoint: string }> {
  const { endpoint } = await testDynamoDb();
  const client = createDynamoDbClient({ endpoint, inProcess: true });
  const tableName = `events-${randomUUID()}`;
  await ensureEventsTable(client, tableName);
  return { store: new DynamoDbEventStore({ client, tableName }), tableName, endpoint };
}

/** A store that delegates to `inner` except where `overrides` says otherwise (fault injection). */
export function wrapStore(inner: EventStore, overrides: Partial<EventStore>): EventStore {
  return {
    append: (request) => inner.append(request),
    readStream: (streamId, options) => inner.readStream(streamId, options),
    scan: (options) => inner.scan(options),
    claimKey: (claim) => inner.claimKey(claim),
    ping: () => inner.ping(),
    ...overrides,
  };
}
