import type { Plugin } from '@hapi/hapi';
import Validate from '@hapi/validate';
import type { Kysely } from 'kysely';
import { Projector, migrate, prepareOnFirstUse } from '../projection/index.ts';
import type { Database } from '../projection/index.ts';
import { ReadYourWrites } from './consistency.ts';
import { queryHealthPath, queryRoutes } from './query.routes.ts';

export interface QueryModuleOptions {
  /** The projection database (from `openDatabase`): migrated, or see `migrateOnFirstUse`. */
  readonly db: Kysely<Database>;
  /**
   * Migrate `db` (whose schema this names) on the first request that needs it rather than
   * before: a deployed function's cold start waits on no database, and only an authenticated,
   * valid request (or a deep health check that is served) makes it touch the schema.
   */
  readonly migrateOnFirstUse?: { readonly schema: string };
  /** Applies commits; queries use it to catch a stream up for X-Consistency-Token. */
  readonly projector: Projector;
  /** How long a query waits for a consistency token before 504 (docs/api.md, read-your-writes: 2 s). */
  readonly consistencyTimeoutMs?: number;
  /** Queries that may wait for a consistency token at once; one more answers 503 (default 100). */
  readonly maxConsistencyWaiters?: number;
  /** Of those, how many one caller may hold (default 10): no caller can take every slot. */
  readonly maxConsistencyWaitersPerCaller?: number;
}

const optionsSchema = Validate.object({
  db: Validate.object().required(),
  projector: Validate.object().instance(Projector).required(),
  consistencyTimeoutMs: Validate.number().integer().min(0).max(30_000),
  maxConsistencyWaiters: Validate.number().integer().min(0).max(100_000),
  maxConsistencyWaitersPerCaller: Validate.number().integer().min(0).max(100_000),
  migrateOnFirstUse: Validate.object({ schema: Validate.string().required() }),
});

/**
 * The read side (docs/api.md, queries and read-your-writes): routes under /query/v1 over the
 * Postgres projections. Needs the `auth` plugin for its `user` strategy.
 *
 * @example
 * const database = await openDatabase({ url: process.env.DATABASE_URL });
 * await migrate(database.db, database.schema);
 * const projector = new Projector(database.db, eventStore);
 * await server.register({ plugin: queryModule, options: { db: database.db, projector } });
 */
export const queryModule: Plugin<QueryModuleOptions> = {
  name: 'query',
  dependencies: ['auth'],
  register(server, options) {
    Validate.assert(options, optionsSchema, 'query module options:');
    const readYourWrites = new ReadYourWrites(options.projector, options.db, {
      timeoutMs: options.consistencyTimeoutMs ?? 2_000,
      maxWaiters: options.maxConsistencyWaiters ?? 100,
      maxWaitersPerCaller: options.maxConsistencyWaitersPerCaller ?? 10,
      onProjectionFailure: (streamId, error) => server.log(['error', 'query', 'projection'], { msg: 'a consistency catch-up could not apply a commit', streamId, err: error }),
    });
    const { migrateOnFirstUse } = options;
    if (migrateOnFirstUse) prepareOnFirstUse(server, { prepare: () => migrate(options.db, migrateOnFirstUse.schema), healthPath: queryHealthPath });
    server.route(queryRoutes({ db: options.db, readYourWrites }));
  },
};

