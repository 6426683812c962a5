import type { Commit, EventStore } from '../eventstore/index.ts';
import { commandModule } from '../modules/command/index.ts';
import { ProjectionFeed, Projector, queryModule } from '../modules/query/index.ts';
import type { ProjectionDatabase } from '../modules/query/index.ts';
import { authPlugin } from '../shared/auth.ts';
import { createHttpServer } from '../shared/http-server.ts';
import { client, testSecret } from './command-server.ts';

/** Both modules in one server, as `npm start` composes them, over the given stores. */
export async function appServer(
  store: EventStore,
  database: ProjectionDatabase,
  options: { deliver?: boolean; consistencyTimeoutMs?: number; maxConsistencyWaiters?: number; retryMs?: number } = {},
) {
  const projector = new Projector(database.db, store);
  const feed = new ProjectionFeed(projector, { retryMs: options.retryMs ?? 50 });
  const server = createHttpServer();
  await server.register([
    { plugin: authPlugin, options: { secret: testSecret } },
    {
      plugin: commandModule,
      options: { eventStore: store, ...(options.deliver === false ? {} : { onAppended: (commit: Commit) => feed.deliver(commit) }) },
    },
    {
      plugin: queryModule,
      options: {
        db: database.db,
        projector,
        ...(options.consistencyTimeoutMs === undefined ? {} : { consistencyTimeoutMs: options.consistencyTimeoutMs }),
        ...(options.maxConsistencyWaiters === undefined ? {} : { maxConsistencyWaiters: options.maxConsistencyWaiters }),
      },
    },
  ]);
  await server.initialize();
  return { ...client(server), projector, feed };
}
