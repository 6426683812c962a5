/**
 * The query image's default entry (Dockerfile.query, CMD /app/query/index.mjs): the query API
 * alone, routes under /query. The projector function runs the same image with
 * /app/projector/index.mjs instead (see projector.ts); this entry has no /events route.
 * Nothing touches Postgres, Secrets Manager or the identity provider before the first request
 * that needs them: the readiness check answers at once, migrations run on first use.
 */
import type { Plugin } from '@hapi/hapi';
import { lazyDynamoDbEventStore } from '../eventstore/index.ts';
import { Projector, openDatabase } from '../modules/projection/index.ts';
import { queryModule } from '../modules/query/index.ts';
import { databaseSchema, databaseSource } from './database-settings.ts';
import type { DatabaseConfig } from './database-settings.ts';
import { readServiceConfig, runService, serviceLogger } from './service.ts';
import type { ServiceConfig } from './service.ts';
import { userAuth, userAuthSchema } from './user-auth.ts';
import type { UserAuthConfig } from './user-auth.ts';

type QueryConfig = ServiceConfig & UserAuthConfig & DatabaseConfig;

const healthPath = '/query/healthcheck';

/** Reads the settings and starts the service (the bundle's index.mjs, query.main.ts, calls it). */
export async function start(): Promise<void> {
  const config = readServiceConfig<QueryConfig>({}, [userAuthSchema, databaseSchema]);
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
        userAuth(config),
        { plugin: queryModule as Plugin<unknown>, options: { db: database.db, projector, migrateOnFirstUse: { schema: database.schema } } },
      ],
      onStop: async () => {
        await database.close();
        await eventStore.close();
      },
      healthPath,
    });
  } catch (error) {
    logger.fatal({ err: error }, 'failed to start');
    process.exit(1);
  }
}
