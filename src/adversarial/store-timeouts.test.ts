import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import t from 'tap';
import type { Test } from 'tap';
import { databaseSource } from '../entry/database-settings.ts';
import { EventStoreUnavailableError } from '../eventstore/index.ts';
import { DynamoDbEventStore, createDynamoDbClient } from '../eventstore/dynamodb-event-store.ts';
import { openDatabase } from '../modules/projection/index.ts';

/**
 * A store that accepts the connection and then never answers (a wedged endpoint, a black-holed
 * route) must become a 503 within a few seconds, never a request that hangs until Lambda ends
 * the invocation, nor an instance whose every request waits on one pending read while its
 * readiness path keeps answering 200. The AWS SDK only warns when `requestTimeout` passes unless
 * told to throw (`src/shared/aws-http.ts`).
 */

/**
 * How a promise ended, or 'still waiting' after `ms`: a liveness bound far above the ~10 s that
 * three attempts of 3 s take once the timeouts work, not a latency budget.
 */
async function settleWithin(promise: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const waiting = new Promise((resolve) => (timer = setTimeout(() => resolve('still waiting'), ms)));
  try {
    return await Promise.race([promise.then(() => 'resolved', (error: unknown) => error), waiting]);
  } finally {
    clearTimeout(timer);
  }
}

/** An HTTP server that reads every request and never answers it. */
async function silentServer(t: Test): Promise<string> {
  const server = createServer((request) => request.resume());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

// Each case waits out real timeouts (three attempts of 3 s) and spends no CPU meanwhile: both at once.
t.test('stores that accept the connection and never answer', { jobs: 2 }, async (t) => {
  t.test('an event log that never answers becomes EventStoreUnavailableError, not a hang', async (t) => {
    const endpoint = await silentServer(t);
    const client = createDynamoDbClient({ endpoint });
    t.teardown(() => client.destroy());
    const store = new DynamoDbEventStore({ client, tableName: 'events' });
    const [read, ping] = await Promise.all([
      settleWithin(store.readStream('GroupChat-00000000-0000-4000-8000-000000000000'), 25_000),
      settleWithin(store.ping(), 25_000),
    ]);
    t.type(read, EventStoreUnavailableError, 'readStream ends as unavailable');
    t.type(ping, EventStoreUnavailableError, 'ping (the deep health check) ends as unavailable');
  });

  t.test('a Secrets Manager that never answers is a connection failure (503), not a wedged instance', async (t) => {
    const endpoint = await silentServer(t);
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'eu-west-1' });
    t.teardown(() => {
      for (const key of ['AWS_ENDPOINT_URL_SECRETS_MANAGER', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    });
    const source = databaseSource({
      DATABASE_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf',
      DATABASE_SCHEMA: 'projections',
      DATABASE_POOL_SIZE: 2,
      DATABASE_CONNECT_TIMEOUT_MS: 3_000,
    });
    const database = await openDatabase({ ...source, schema: 'projections' });
    // Not awaited: with the settings still pending, close() waits on them too (for ever, today).
    t.teardown(() => void database.close().catch(() => undefined));
    // Two requests at once, as a local server or a busy instance would see them: both must end.
    const [first, second] = await Promise.all([
      settleWithin(sql`select 1`.execute(database.db), 25_000),
      settleWithin(sql`select 1`.execute(database.db), 25_000),
    ]);
    t.match(first, { name: 'ProjectionUnavailableError', cause: { code: '08001' } }, 'the first query fails as unavailable');
    t.match(second, { name: 'ProjectionUnavailableError', cause: { code: '08001' } }, 'and so does the one that arrived meanwhile');
  });
});
