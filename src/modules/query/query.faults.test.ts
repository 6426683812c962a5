import { randomUUID } from 'node:crypto';
import t from 'tap';
import { eventually } from '../../testing/eventually.ts';
import type { Test } from 'tap';
import { appServer } from '../../testing/app-server.ts';
import { openEmbeddedDatabase, openTestDatabase } from '../../testing/databases.ts';
import { closeTestDynamoDb, freshEventStore, wrapStore } from '../../testing/stores.ts';
import { encodeConsistencyToken } from '../../contracts/consistency-token.ts';
import { groupChatStream } from '../../contracts/streams.ts';
import { EventStoreUnavailableError } from '../../eventstore/index.ts';
import { startTcpProxy } from '../../testing/tcp-proxy.ts';
import { ProjectionFeed, Projector, migrate, openDatabase } from '../projection/index.ts';

t.teardown(closeTestDynamoDb);

/** The test's projection schema, reached once directly and once through a proxy that can fail. */
async function behindProxy(t: Test) {
  const real = new URL(process.env.DATABASE_URL!);
  const proxy = await startTcpProxy({ host: real.hostname, port: Number(real.port || 5432) });
  t.teardown(proxy.close);
  const viaProxy = new URL(real);
  viaProxy.port = String(proxy.port);
  const direct = await openTestDatabase(t);
  const database = await openDatabase({ url: viaProxy.toString(), schema: direct.schema });
  t.teardown(() => database.close());
  await migrate(database.db, database.schema);
  return { proxy, database, direct };
}

t.test('Postgres down: queries 503, commands go on, the projection heals when it is back', { skip: process.env.DATABASE_URL ? false : 'real Postgres: DATABASE_URL is not set' }, async (t) => {
  const { proxy, database } = await behindProxy(t);

  const { store } = await freshEventStore();
  const api = await appServer(store, database, { retryMs: 50 });
  t.teardown(() => api.feed.stop());
  const alice = api.as('alice');
  const created = await alice.createChat('Outage');
  const before = await api.send('alice', 'GET', `/query/v1/group-chats/${created.id}`, undefined, { 'x-consistency-token': created.body.token as string });
  t.equal(before.status, 200);

  proxy.down();
  const during = await api.send('alice', 'GET', '/query/v1/group-chats');
  t.equal(during.status, 503);
  t.equal(during.headers['retry-after'], '1');
  t.match(during.body, { statusCode: 503, message: /projection database/ });
  t.equal((await api.send(undefined, 'GET', '/query/healthcheck?deep=true')).status, 503);
  t.equal((await api.send(undefined, 'GET', '/query/healthcheck')).status, 200, 'the shallow check stays up');
  const posted = await alice.post(created.id, 'written during the outage');
  t.equal(posted.status, 201, 'commands keep succeeding');
  const renamed = await alice.rename(created.id, 'Outage over');
  t.equal(renamed.status, 200);

  proxy.up();
  // The feed retries the two streams one after the other: wait for both, not just the first.
  const [messages, chat] = await eventually(
    'both streams caught up',
    () => Promise.all([api.send('alice', 'GET', `/query/v1/group-chats/${created.id}/messages`), api.send('alice', 'GET', `/query/v1/group-chats/${created.id}`)]),
    ([messages, chat]) => messages.status === 200 && (messages.body.items as unknown[]).length === 1 && chat.body.version === 2,
  );
  t.match(messages.body, { items: [{ messageId: posted.id, text: 'written during the outage' }] }, 'caught up by itself');
  t.match(chat.body, { name: 'Outage over', version: 2 });
  t.equal(api.feed.pending, 0);
});

t.test('a projection that cannot start catches up once the database answers', { skip: process.env.DATABASE_URL ? false : 'real Postgres: DATABASE_URL is not set' }, async (t) => {
  const { proxy, database, direct } = await behindProxy(t);
  const { store } = await freshEventStore();
  const writer = await appServer(store, direct, { deliver: false });
  const { id } = await writer.as('gina').createChat('Written before start');

  proxy.down();
  const feed = new ProjectionFeed(new Projector(database.db, store), { retryMs: 50 });
  t.teardown(() => feed.stop());
  await feed.start();
  t.equal(feed.pending, 1, 'the start-up catch-up is due again');
  proxy.up();
  t.equal(await eventually('the catch-up', () => feed.pending, (pending) => pending === 0), 0);
  t.match(await direct.db.selectFrom('group_chats').selectAll().execute(), [{ group_chat_id: id, name: 'Written before start' }]);
});

t.test('embedded database closed: queries 503, commands still succeed', async (t) => {
  const database = await openEmbeddedDatabase({ schema: 'projections' });
  await migrate(database.db, database.schema);
  const { store } = await freshEventStore();
  const api = await appServer(store, database, { retryMs: 10_000 });
  t.teardown(() => api.feed.stop());
  await database.close();
  t.match(await api.send('bob', 'GET', '/query/v1/group-chats'), { status: 503, headers: { 'retry-after': '1' } });
  t.equal((await api.as('bob').createChat('Still works')).status, 201);
});

t.test('concurrent cold starts migrate once', { skip: process.env.DATABASE_URL ? false : 'real Postgres: DATABASE_URL is not set' }, async (t) => {
  const first = await openTestDatabase(t);
  const others = await Promise.all(
    Array.from({ length: 5 }, () => openDatabase({ url: process.env.DATABASE_URL!, schema: `${first.schema}_cold` })),
  );
  t.teardown(async () => {
    const { sql } = await import('kysely');
    await sql`drop schema if exists ${sql.id(`${first.schema}_cold`)} cascade`.execute(first.db);
    await Promise.all(others.map((o) => o.close()));
  });
  await Promise.all(others.map((o) => migrate(o.db, o.schema)));
  const applied = await others[0]!.db
    .withoutPlugins()
    .selectFrom(`${first.schema}_cold.kysely_migration` as never)
    .selectAll()
    .execute();
  t.equal(applied.length, 1, 'the migration ran once');
  t.same(await others[0]!.db.selectFrom('group_chats').selectAll().execute(), []);
});

t.test('the event log down under a consistency token: 503 naming the event store, not the projection database', async (t) => {
  const { store } = await freshEventStore();
  const down = async () => {
    throw new EventStoreUnavailableError('the event log is down');
  };
  const api = await appServer(wrapStore(store, { readStream: down }), await openTestDatabase(t, null));
  t.teardown(() => api.feed.stop());
  const token = encodeConsistencyToken({ streamId: groupChatStream(randomUUID()), version: 1 });
  const answer = await api.send('alice', 'GET', '/query/v1/group-chats', undefined, { 'x-consistency-token': token });
  t.equal(answer.status, 503);
  t.same(answer.body, { statusCode: 503, error: 'Service Unavailable', message: 'event store unavailable' });
});
