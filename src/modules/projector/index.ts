/**
 * The projector function's role (ARCHITECTURE.md, the read side, delivery in AWS): the stream
 * endpoint that applies DynamoDB Streams batches (and the repair's catch-up) through the
 * projection module, and its readiness route. No query route and no user auth: the projector
 * function's bundle carries neither. Nothing here is routable by the API: the function is
 * invoked by its event source mapping through the adapter.
 */
import type { Plugin } from '@hapi/hapi';
import Validate from '@hapi/validate';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { healthRoute } from '../../shared/health.ts';
import { Projector, migrate, prepareOnFirstUse } from '../projection/index.ts';
import type { Database } from '../projection/index.ts';
import { streamEventsRoute } from './stream-events.ts';

export interface ProjectorModuleOptions {
  /** The projection database (from `openDatabase`): migrated, or see `migrateOnFirstUse`. */
  readonly db: Kysely<Database>;
  /** Migrate `db` (whose schema this names) when the first batch (or a served deep check) arrives, never at start. */
  readonly migrateOnFirstUse?: { readonly schema: string };
  readonly projector: Projector;
  /** The adapter's pass-through path (AWS_LWA_PASS_THROUGH_PATH). */
  readonly path: string;
  /** The events table: records of any other table are skipped. */
  readonly tableName: string;
}

export const projectorHealthPath = '/projector/healthcheck';

/**
 * The projector function: `POST <path>` takes DynamoDB Streams batches (see `stream-events.ts`),
 * and `GET /projector/healthcheck` is the adapter's readiness path (no store access;
 * `?deep=true` also reaches Postgres). No user auth is registered or needed.
 *
 * @example
 * await server.register({ plugin: projectorModule, options: { db, projector, path: '/events', tableName: 'events' } });
 */
export const projectorModule: Plugin<ProjectorModuleOptions> = {
  name: 'projector',
  register(server, options) {
    Validate.assert(
      options,
      Validate.object({
        db: Validate.object().required(),
        projector: Validate.object().instance(Projector).required(),
        path: Validate.string().pattern(/^\//).required(),
        tableName: Validate.string().required(),
        migrateOnFirstUse: Validate.object({ schema: Validate.string().required() }),
      }),
      'projector module options:',
    );
    server.route(
      healthRoute({
        path: projectorHealthPath,
        text: 'Projector Running',
        store: 'projection database',
        check: () => sql`select 1`.execute(options.db),
        tags: ['projector'],
      }),
    );
    server.route(streamEventsRoute({ projector: options.projector, path: options.path, tableName: options.tableName }));
    const { migrateOnFirstUse } = options;
    if (migrateOnFirstUse) prepareOnFirstUse(server, { prepare: () => migrate(options.db, migrateOnFirstUse.schema), healthPath: projectorHealthPath });
  },
};

