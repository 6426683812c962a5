/**
 * The query image's entry (Dockerfile.query). One image, two Lambda functions: the query API
 * (routes under /query/v1) and the projector (the adapter's pass-through POST /events with
 * DynamoDB Streams batches). Nothing touches Postgres before the first request that needs it:
 * the readiness check answers at once, migrations run on first use.
 */
import type { Plugin } from '@hapi/hapi';
import Joi from 'joi';
import { DynamoDbEventStore, createDynamoDbClient } from '../eventstore/index.ts';
import { Projector, migrate, openDatabase, queryModule, streamEventsEndpoint } from '../modules/query/index.ts';
import { unavailable } from '../shared/http-errors.ts';
import type { ServiceConfig } from './service.ts';
import { readServiceConfig, runService, serviceLogger } from './service.ts';

interface QueryConfig extends ServiceConfig {
  readonly DATABASE_URL: string;
  readonly DATABASE_SCHEMA: string;
  readonly DATABASE_POOL_SIZE: number;
  readonly AWS_LWA_PASS_THROUGH_PATH: string;
}

const healthPath = '/query/healthcheck';
const config = readServiceConfig<QueryConfig>({
  DATABASE_URL: Joi.string().uri({ scheme: ['postgres', 'postgresql'] }).required(),
  DATABASE_SCHEMA: Joi.string().pattern(/^[a-z_][a-z0-9_]{0,62}$/).default('projections'),
  // One request at a time reaches a Lambda instance; two connections cover a query plus catch-up.
  DATABASE_POOL_SIZE: Joi.number().integer().min(1).max(20).default(2),
  AWS_LWA_PASS_THROUGH_PATH: Joi.string().pattern(/^\//).default('/events'),
});
const logger = serviceLogger(config);
const client = createDynamoDbClient(config.DYNAMODB_ENDPOINT ? { endpoint: config.DYNAMODB_ENDPOINT } : {});
const eventStore = new DynamoDbEventStore({ client, tableName: config.EVENTS_TABLE });

async function main() {
  const database = await openDatabase({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, poolSize: config.DATABASE_POOL_SIZE });
  const projector = new Projector(database.db, eventStore);

  // Migrations run once per instance, on the first request that needs the tables; a failure
  // answers 503 and the next request tries again.
  let migrated: Promise<void> | undefined;
  const ready = () => {
    migrated ??= migrate(database.db, database.schema).catch((error: unknown) => {
      migrated = undefined;
      throw error;
    });
    return migrated;
  };
  const readiness: Plugin<unknown> = {
    name: 'migrations-ready',
    register(server) {
      server.ext('onPreAuth', async (request, h) => {
        if (request.path === healthPath && request.query.deep !== 'true') return h.continue;
        try {
          await ready();
        } catch (error) {
          logger.error({ err: error }, 'projection database not ready');
          throw unavailable('projection database unavailable');
        }
        return h.continue;
      });
    },
  };

  await runService(
    config,
    logger,
    [
      { plugin: readiness, options: {} },
      { plugin: queryModule as Plugin<unknown>, options: { db: database.db, projector } },
      { plugin: streamEventsEndpoint as Plugin<unknown>, options: { projector, path: config.AWS_LWA_PASS_THROUGH_PATH } },
    ],
    async () => {
      await database.close();
      client.destroy();
    },
    healthPath,
  );
}

main().catch((error: unknown) => {
  logger.fatal({ err: error }, 'failed to start');
  process.exit(1);
});
