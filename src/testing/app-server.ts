import type { Logger } from 'pino';
import type { Commit, EventStore } from '../eventstore/index.ts';
import { commandModule } from '../modules/command/index.ts';
import { ProjectionFeed, Projector } from '../modules/projection/index.ts';
import { queryModule } from '../modules/query/index.ts';
import type { ProjectionDatabase } from '../modules/projection/index.ts';
import { authPlugin } from '../shared/auth.ts';
import { createHttpServer } from '../shared/http-server.ts';
import { requestLogging } from '../shared/logging.ts';
import { client, testSecret } from './command-server.ts';

export interface AppServerOptions {
  /** false: commits are not handed to the projector (queries catch up only through tokens). */
  readonly deliver?: boolean;
  readonly consistencyTimeoutMs?: number;
  readonly maxConsistencyWaiters?: number;
  readonly retryMs?: number;
  /** Listen on a free loopback port (for raw-socket tests) instead of answering `inject` only. */
  readonly listen?: boolean;
  /** Log requests through this logger, as the entry points do. */
  readonly logger?: Logger;
  /** How long a caller may take to send a request (the server factory's defaults otherwise). */
  readonly deadlines?: { readonly headersMs: number; readonly requestMs: number };
  /** Origins whose pages may call the API from a browser (none by default, as `npm start`). */
  readonly corsOrigins?: readonly string[];
  /** Serve `/openapi.json` and `/documentation`, as `npm start` does. */
  readonly documented?: boolean;
}

/** Both modules in one server, as `npm start` composes them, over the given stores. */
export async function appServer(store: EventStore, database: ProjectionDatabase, options: AppServerOptions = {}) {
  const projector = new Projector(database.db, store);
  // A command answers once the read model has its write, however long that takes on a busy
  // machine: `npm start` waits 250 ms at most, and a test that then read without a token would
  // depend on the machine being quick. (The bound itself is tested in projection-feed.test.ts.)
  const feed = new ProjectionFeed(projector, { retryMs: options.retryMs ?? 50, maxWaitMs: 60_000 });
  const server = createHttpServer({
    ...(options.listen ? { port: 0, host: '127.0.0.1' } : {}),
    ...(options.deadlines ? { deadlines: options.deadlines } : {}),
    ...(options.corsOrigins ? { corsOrigins: options.corsOrigins } : {}),
  });
  if (options.logger) await server.register(requestLogging(options.logger));
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
  // hapi-swagger and Swagger UI load only for the tests that serve the description.
  if (options.documented) await server.register((await import('../shared/openapi/documentation.ts')).documentation);
  if (options.listen) await server.start();
  else await server.initialize();
  return { ...client(server), projector, feed };
}
