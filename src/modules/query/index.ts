import Boom from '@hapi/boom';
import type { Plugin } from '@hapi/hapi';
import Joi from 'joi';
import type { Kysely } from 'kysely';
import { unavailable } from '../../shared/http-errors.ts';
import type { Database } from './database.ts';
import { Projector } from './projection/projector.ts';
import { isUnavailable } from './query-errors.ts';
import { queryRoutes } from './query.routes.ts';

export interface QueryModuleOptions {
  /** The projection database (from `openDatabase`), migrated. */
  readonly db: Kysely<Database>;
  /** Applies commits; queries use it to catch a stream up for X-Consistency-Token. */
  readonly projector: Projector;
  /** How long a query waits for a consistency token before 504 (SPEC §5: 2 s). */
  readonly consistencyTimeoutMs?: number;
}

const optionsSchema = Joi.object({
  db: Joi.object().required(),
  projector: Joi.object().instance(Projector).required(),
  consistencyTimeoutMs: Joi.number().integer().min(0).max(30_000),
});

/**
 * The read side (SPEC §2 queries, §4, §5): routes under /query/v1 over the Postgres projections.
 * Needs the `auth` plugin for its `user` strategy.
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
    Joi.assert(options, optionsSchema, 'query module options:');
    server.route(
      queryRoutes({ db: options.db, projector: options.projector, consistencyTimeoutMs: options.consistencyTimeoutMs ?? 2_000 }),
    );
    server.ext(
      'onPreResponse',
      (request, h) => {
        const { response } = request;
        if (!Boom.isBoom(response) || response.output.statusCode !== 500) return h.continue;
        if (isUnavailable(response)) {
          request.log(['warn', 'query'], response);
          return unavailable('projection database unavailable');
        }
        request.log(['error', 'query'], response);
        return h.continue;
      },
      { sandbox: 'plugin' },
    );
  },
};

export { openDatabase, defaultSchema } from './database.ts';
export type { Database, DatabaseSettings, ProjectionDatabase } from './database.ts';
export { migrate } from './migrations.ts';
export { Projector } from './projection/projector.ts';
export type { CatchUpProgress, EventLog } from './projection/projector.ts';
export { ProjectionFeed } from './projection/projection-feed.ts';
export { rebuildProjections } from './projection/rebuild.ts';
export type { RebuildResult } from './projection/rebuild.ts';
