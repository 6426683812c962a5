/**
 * The projector function's entry, in the query image (CMD ["/app/projector/index.mjs"]): DynamoDB
 * Streams batches arrive through the Lambda Web Adapter's pass-through path
 * (AWS_LWA_PASS_THROUGH_PATH, POST /events) and are applied to the projections; the readiness
 * path is /projector/healthcheck. No user auth and no query routes: the function is invoked by
 * its event source mapping, never routed by the API. Set AWS_LWA_ERROR_STATUS_CODES=201-599 on
 * the function, so that no answer but a 200 with a batchItemFailures body counts as success.
 */
import type { Plugin } from '@hapi/hapi';
import Validate from '@hapi/validate';
import { lazyDynamoDbEventStore } from '../eventstore/index.ts';
import { Projector, openDatabase } from '../modules/projection/index.ts';
import { projectorHealthPath, projectorModule } from '../modules/projector/index.ts';
import { databaseSchema, databaseSource } from './database-settings.ts';
import type { DatabaseConfig } from './database-settings.ts';
import { readServiceConfig, runService, serviceLogger } from './service.ts';
import type { ServiceConfig } from './service.ts';

interface ProjectorConfig extends ServiceConfig, DatabaseConfig {
  readonly AWS_LWA_PASS_THROUGH_PATH: string;
}

/** Reads the settings and starts the service (the bundle's index.mjs, projector.main.ts, calls it). */
export async function start(): Promise<void> {
  const config = readServiceConfig<ProjectorConfig>({ AWS_LWA_PASS_THROUGH_PATH: Validate.string().pattern(/^\/[A-Za-z0-9/_.-]*$/).default('/events') }, [databaseSchema]);
  const logger = serviceLogger(config);
  // The AWS SDK loads with the first DynamoDB call: the readiness check makes none.
  const eventStore = lazyDynamoDbEventStore({ tableName: config.EVENTS_TABLE, ...(config.DYNAMODB_ENDPOINT ? { endpoint: config.DYNAMODB_ENDPOINT } : {}) });
  try {
    const database = await openDatabase({ ...databaseSource(config), schema: config.DATABASE_SCHEMA, poolSize: config.DATABASE_POOL_SIZE });
    const projector = new Projector(database.db, eventStore);
    await runService({
      config,
      logger,
      plugins: [
        {
          plugin: projectorModule as Plugin<unknown>,
          options: { db: database.db, projector, path: config.AWS_LWA_PASS_THROUGH_PATH, tableName: config.EVENTS_TABLE, migrateOnFirstUse: { schema: database.schema } },
        },
      ],
      onStop: async () => {
        await database.close();
        await eventStore.close();
      },
      healthPath: projectorHealthPath,
    });
  } catch (error) {
    logger.fatal({ err: error }, 'failed to start');
    process.exit(1);
  }
}
