import t from 'tap';
import { createHttpServer } from '../../shared/http-server.ts';
import { commandServer } from '../../testing/command-server.ts';
import { eachDatabase } from '../../testing/databases.ts';
import { insertRecord, streamEvent } from '../../testing/stream-events.ts';
import { closeTestDynamoDb, freshEventStore } from '../../testing/stores.ts';
import { Projector } from '../projection/index.ts';
import { projectorHealthPath, projectorModule } from './index.ts';

t.teardown(closeTestDynamoDb);

eachDatabase(t, 'the projector role alone', async (t, open) => {
  const database = await open();
  const { store } = await freshEventStore();
  const server = createHttpServer();
  // No auth plugin: the projector has no user routes and needs none.
  await server.register({ plugin: projectorModule, options: { db: database.db, projector: new Projector(database.db, store), path: '/events', tableName: 'events' } });
  await server.initialize();

  const health = await server.inject(projectorHealthPath);
  t.equal(health.statusCode, 200);
  t.equal(health.payload, 'Projector Running');
  t.equal((await server.inject(`${projectorHealthPath}?deep=true`)).statusCode, 200, 'deep: Postgres answers');
  t.equal((await server.inject('/query/v1/group-chats')).statusCode, 404, 'no query routes');
  t.equal((await server.inject('/query/healthcheck')).statusCode, 404);

  const { id } = await (await commandServer(store)).as('alice').createChat('Projected');
  const [commit] = await store.readStream(`GroupChat-${id}`);
  const invoked = await server.inject({ method: 'POST', url: '/events', payload: streamEvent([insertRecord(commit!)]) as object });
  t.same(JSON.parse(invoked.payload), { batchItemFailures: [] });
  t.match(await database.db.selectFrom('group_chats').select('name').execute(), [{ name: 'Projected' }]);

  await t.rejects(
    createHttpServer().register({ plugin: projectorModule, options: { db: database.db, path: 'events' } as never }),
    /projector module options/,
  );
});
